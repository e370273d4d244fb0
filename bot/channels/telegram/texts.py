"""What the Telegram adapter says itself, when a message never reaches the dialogue engine (Vietnamese)."""

from __future__ import annotations

NOTICES: dict[str, str] = {
    "sticker": (
        "Cảm ơn bạn! Hotline chưa hiểu được nhãn dán. Bạn vui lòng gõ nội dung bằng chữ, hoặc gõ /menu để xem "
        "các việc Hotline có thể giúp."
    ),
    "voice": (
        "Xin lỗi, Hotline chưa nghe được tin nhắn thoại. Bạn vui lòng gõ nội dung bằng chữ (có dấu hay không dấu "
        "đều được). Khẩn cấp: gọi 113."
    ),
    "video": (
        "Xin lỗi, Hotline chưa nhận được video. Bạn có thể chụp màn hình rồi gửi ảnh, hoặc gõ nội dung bằng chữ."
    ),
    "location": (
        "Cảm ơn bạn! Hotline không cần vị trí của bạn. Khi được hỏi, bạn chỉ cần gõ tên xã / phường nơi bạn ở."
    ),
    "other": (
        "Xin lỗi, Hotline chưa xử lý được loại tin nhắn này. Bạn vui lòng gõ bằng chữ hoặc gửi ảnh chụp màn hình. "
        "Gõ /menu để xem các lựa chọn."
    ),
    "group": (
        "Xin chào! Để giữ kín thông tin của phụ huynh, Hotline chỉ trò chuyện riêng, không trả lời trong nhóm. "
        "Bạn vui lòng nhắn riêng cho Hotline để báo cáo hoặc kiểm tra cuộc gọi, đường link."
    ),
    "file_rejected": (
        "Không nhận được tệp này: Hotline chỉ nhận ảnh (JPG, PNG, WebP, GIF) hoặc tệp PDF, tối đa 10 MB. "
        "Bạn có thể chụp màn hình rồi gửi lại ảnh."
    ),
    "failed": (
        "Xin lỗi, Hotline gặp sự cố khi xử lý tin nhắn này. Bạn vui lòng gửi lại sau ít phút. "
        "Khẩn cấp: gọi 113."
    ),
}

GROUP_BUTTON = "💬 Nhắn riêng cho Hotline"
SHARE_CONTACT_BUTTON = "📱 Gửi số điện thoại của tôi"

# Officers' group.
NOT_AUTHORISED = "Bạn không có quyền thao tác trên thẻ báo cáo này."
ACK_DONE = "Đã ghi nhận: bạn đã tiếp nhận {reference}."
ASSIGN_DONE = "Đã giao {reference} cho bạn."
ALREADY_DONE = "Việc này đã được ghi nhận trước đó."
OPEN_IN_CONSOLE = "Mở bảng điều khiển và tìm mã {reference}."
CARD_BUTTONS = {"ack": "✔ Đã tiếp nhận", "assign": "👤 Tôi phụ trách", "open": "🗂 Mở trên bảng điều khiển"}

# tip.v1 codes as officers read them on a card (the lists are open; unknown codes are shown as they are).
CHANNELS = {"call": "Cuộc gọi", "sms": "SMS", "zalo": "Zalo", "telegram": "Telegram", "facebook": "Facebook",
            "other": "Liên hệ"}
ROLES = {"principal": "Hiệu trưởng/BGH", "homeroom_teacher": "GVCN", "teacher": "giáo viên",
         "school_staff": "nhân viên trường", "education_department": "Phòng/Sở GD", "police": "công an",
         "bank": "ngân hàng", "other": "người khác"}
PRETEXTS = {"update_records": "bổ sung hồ sơ", "student_id_code": "mã định danh học sinh",
            "install_app": "cài app Sổ liên lạc", "tuition_refund": "hoàn học phí",
            "child_hospital": "con cấp cứu", "other": "khác"}
ASKED = {"otp": "OTP", "bank_account": "số tài khoản", "money_transfer": "chuyển tiền", "install_app": "cài app",
         "personal_info": "thông tin cá nhân", "student_id_code": "mã định danh", "click_link": "bấm link",
         "password": "mật khẩu", "card": "thông tin thẻ", "id_number": "số CCCD", "installed_app": "đã cài app"}
VERDICTS = {"scam": "lừa đảo", "suspicious": "đáng ngờ", "no_red_flags": "chưa thấy dấu hiệu lừa đảo"}
