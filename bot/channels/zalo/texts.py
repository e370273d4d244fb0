"""What the Zalo adapter says itself, when a message never reaches the dialogue engine (Vietnamese, then English)."""

from __future__ import annotations

NOTICES: dict[str, str] = {
    "sticker": (
        "Cảm ơn bạn! Hotline chưa hiểu được nhãn dán. Bạn vui lòng gõ nội dung bằng chữ, hoặc gõ \"menu\" để xem "
        "các việc Hotline có thể giúp.\n(English: please type your message; stickers are not understood.)"
    ),
    "voice": (
        "Xin lỗi, Hotline chưa nghe được tin nhắn thoại. Bạn vui lòng gõ nội dung bằng chữ (có dấu hay không dấu "
        "đều được). Khẩn cấp: gọi 113.\n(English: voice messages are not understood; please type.)"
    ),
    "video": (
        "Xin lỗi, Hotline chưa nhận được video. Bạn có thể chụp màn hình rồi gửi ảnh, hoặc gõ nội dung bằng chữ."
        "\n(English: videos are not accepted; send a screenshot or type instead.)"
    ),
    "location": (
        "Cảm ơn bạn! Hotline không cần vị trí của bạn. Khi được hỏi, bạn chỉ cần gõ tên xã / phường nơi bạn ở."
        "\n(English: no location needed; type your commune's name when asked.)"
    ),
    "other": (
        "Xin lỗi, Hotline chưa xử lý được loại tin nhắn này. Bạn vui lòng gõ bằng chữ hoặc gửi ảnh chụp màn hình. "
        "Gõ \"menu\" để xem các lựa chọn.\n(English: this kind of message is not supported; type or send a "
        "screenshot.)"
    ),
    "file_rejected": (
        "Không nhận được tệp này: Hotline chỉ nhận ảnh (JPG, PNG, WebP, GIF) hoặc tệp PDF, tối đa 10 MB. "
        "Bạn có thể chụp màn hình rồi gửi lại ảnh.\n(English: only images or PDF files up to 10 MB.)"
    ),
    "failed": (
        "Xin lỗi, Hotline gặp sự cố khi xử lý tin nhắn này. Bạn vui lòng gửi lại sau ít phút. "
        "Khẩn cấp: gọi 113.\n(English: something went wrong; please try again in a few minutes.)"
    ),
}

# Under a list of numbered options (a step with more options than Zalo shows as buttons).
NUMBERED_HINT = "Trả lời bằng số thứ tự (ví dụ: 1) hoặc gõ nội dung. / Reply with the number."
