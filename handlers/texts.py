"""System texts the engine says on its own (errors, warnings, the urgent advice), in both languages.

Flow texts live in the YAML flows; these are the ones no flow owns.
"""

from __future__ import annotations

from typing import Any

TEXTS: dict[str, dict[str, str]] = {
    "invalid_phone": {
        "vi": "Số điện thoại chưa đúng. Hãy nhập lại, ví dụ 0912 345 678 hoặc +84 912 345 678.",
        "en": "That phone number does not look right. Please type it again, e.g. 0912 345 678.",
    },
    "invalid_url": {
        "vi": "Tôi không thấy đường link nào. Hãy dán đường link (ví dụ: abc-vnedu.com/tai-app) hoặc cả tin nhắn.",
        "en": "I could not find a link. Please paste the link (e.g. abc-vnedu.com/app) or the whole message.",
    },
    "invalid_money": {
        "vi": "Tôi chưa hiểu số tiền. Hãy nhập ví dụ: 500k, 20 triệu, 1tr5, 2.000.000đ.",
        "en": "I did not understand the amount. Try e.g. 500k, 20 triệu, 2,000,000.",
    },
    "invalid_datetime": {
        "vi": "Tôi chưa hiểu thời gian. Hãy nhập ví dụ: hôm nay 9h, sáng nay, hôm qua, 15/11.",
        "en": "I did not understand the time. Try e.g. today 9h, this morning, yesterday, 15/11.",
    },
    "future_datetime": {
        "vi": "Thời gian này ở tương lai. Hãy nhập lúc sự việc đã xảy ra.",
        "en": "That time is in the future. Please give when it happened.",
    },
    "empty_text": {"vi": "Bạn chưa nhập gì.", "en": "You did not type anything."},
    "need_attachment": {
        "vi": "Hãy gửi ảnh chụp màn hình, hoặc bấm “Xong” / “Bỏ qua”.",
        "en": "Please send a screenshot, or press “Done” / “Skip”.",
    },
    "attachment_saved": {
        "vi": "Đã nhận {count} ảnh. Gửi thêm, hoặc bấm “Xong”.",
        "en": "Got {count} file(s). Send more, or press “Done”.",
    },
    "attachment_rejected": {
        "vi": "Tệp này không nhận được (chỉ nhận ảnh JPG/PNG/WebP hoặc PDF, tối đa {max_mb} MB, {max_count} tệp).",
        "en": "I cannot accept this file (JPG/PNG/WebP images or PDF only, up to {max_mb} MB, {max_count} files).",
    },
    "choose_option": {
        "vi": "Hãy chọn một trong các nút bên dưới (hoặc gõ số thứ tự).",
        "en": "Please choose one of the buttons below (or type its number).",
    },
    "unknown_button": {
        "vi": "Nút này không còn dùng được nữa. Đây là câu hỏi hiện tại:",
        "en": "That button is no longer active. Here is the current question:",
    },
    "not_understood": {
        "vi": "Xin lỗi, tôi chưa hiểu ý bạn. Bạn hãy chọn một mục bên dưới:",
        "en": "Sorry, I did not understand. Please choose one of these:",
    },
    "too_long": {
        "vi": "Tin nhắn quá dài nên tôi chỉ giữ {limit} ký tự đầu.",
        "en": "The message was too long, so I kept only its first {limit} characters.",
    },
    "secret_warning": {
        "vi": "🔒 Tôi đã ẩn mã OTP / số thẻ / mật khẩu trong tin nhắn của bạn và không lưu lại. "
        "Đừng bao giờ đọc hay gửi mã OTP, số thẻ, mật khẩu cho bất kỳ ai — nhà trường, công an và ngân hàng "
        "không bao giờ hỏi những thông tin này.",
        "en": "🔒 I hid the OTP / card number / password in your message and did not keep it. Never share OTPs, "
        "card numbers or passwords with anyone — schools, police and banks never ask for them.",
    },
    "cancelled": {"vi": "Đã hủy. Không có gì được gửi đi.", "en": "Cancelled. Nothing was sent."},
    "help": {
        "vi": "Tôi giúp bạn báo cáo cuộc gọi/tin nhắn/đường link lừa đảo giả mạo nhà trường, kiểm tra một cuộc gọi "
        "hay đường link, và hướng dẫn khi đã lỡ đưa mã OTP hoặc chuyển tiền. Bấm nút hoặc gõ tự nhiên, có dấu "
        "hay không dấu đều được. Lệnh: “menu” (về đầu), “quay lại”, “bỏ qua”, “hủy”, “english”.",
        "en": "I help you report scam calls, messages or links that pretend to be from a school, check a call or a "
        "link, and tell you what to do if you gave an OTP or sent money. Press a button or just type. "
        "Commands: “menu”, “back”, “skip”, “cancel”, “tiếng việt”.",
    },
    "urgent_resume": {
        "vi": "Khi đã gọi ngân hàng xong, hãy tiếp tục báo cáo để Công an xử lý nhanh:",
        "en": "Once you have called the bank, please continue the report so the police can act fast:",
    },
    "slow_down": {
        "vi": "Bạn gửi hơi nhanh, vui lòng chờ vài giây rồi gửi lại.",
        "en": "You are sending messages too fast; please wait a few seconds.",
    },
    "forget_confirm": {
        "vi": "Bạn muốn xóa toàn bộ cuộc trò chuyện và thông tin liên hệ của bạn? Báo cáo đã gửi sẽ được ẩn danh "
        "(Công an vẫn giữ nội dung vụ việc, không còn biết ai gửi).",
        "en": "Erase this conversation and your contact details? Reports you sent are anonymised (the police keep "
        "the case, without knowing who sent it).",
    },
    "forgotten": {
        "vi": "Đã xóa dữ liệu của bạn ({tips} báo cáo đã được ẩn danh). Bạn có thể bắt đầu lại bất cứ lúc nào.",
        "en": "Your data was erased ({tips} report(s) anonymised). You can start again at any time.",
    },
    "forget_kept": {"vi": "Đã giữ nguyên, không xóa gì.", "en": "Nothing was erased."},
    "btn_forget_yes": {"vi": "Xóa dữ liệu của tôi", "en": "Erase my data"},
    "btn_forget_no": {"vi": "Không xóa", "en": "Keep it"},
    "blocked": {
        "vi": "Bạn đã gửi quá nhiều tin nhắn nên tạm thời bị chặn {minutes} phút. Nếu khẩn cấp, hãy gọi 113.",
        "en": "Too many messages: you are blocked for {minutes} minutes. In an emergency, call 113.",
    },
    "understood": {"vi": "Tôi hiểu như sau:", "en": "This is what I understood:"},
    "understood_fix": {
        "vi": "Nếu có gì chưa đúng, bạn sửa được ở bước xác nhận (hoặc gõ “quay lại”).",
        "en": "If anything is wrong, you can change it at the confirmation step (or type “back”).",
    },
    "clarify": {"vi": "Ý bạn là việc nào dưới đây?", "en": "Which of these do you mean?"},
    "you_are_welcome": {"vi": "Không có gì ạ. Chúc gia đình bạn an toàn!", "en": "You're welcome. Stay safe!"},
    "goodbye": {"vi": "Tạm biệt! Khi cần, bạn cứ nhắn lại cho tôi.", "en": "Goodbye! Message me any time."},
    "out_of_scope": {
        "vi": "Tôi chỉ hỗ trợ về lừa đảo giả mạo nhà trường (báo cáo, kiểm tra cuộc gọi/đường link, xử lý khi đã "
        "mất tiền). Việc khác, bạn vui lòng liên hệ nhà trường.",
        "en": "I only help with scams that impersonate schools (reporting, checking calls or links, what to do "
        "after losing money). For anything else, please contact the school.",
    },
    "summary_header": {"vi": "Thông tin bạn đã cung cấp:", "en": "What you told me:"},
    "understood_picked": {"vi": "Tôi ghi nhận: {items}.", "en": "Noted: {items}."},
    "understood_also": {"vi": "Tôi ghi nhận thêm:", "en": "I also noted:"},
    "unsure_money": {
        "vi": "Không sao. Bạn hãy xem ứng dụng ngân hàng hoặc tin nhắn biến động số dư, rồi chọn câu trả lời "
        "bên dưới. Nếu thấy giao dịch lạ, hãy gọi ngay tổng đài ngân hàng để khóa tài khoản.",
        "en": "That's all right. Check your banking app or balance messages, then choose an answer below. If you "
        "see a transfer you did not make, call your bank's hotline now to lock the account.",
    },
    "unsure_answer": {
        "vi": "Không sao. Hãy chọn câu trả lời gần đúng nhất bên dưới; bạn sửa được ở bước xác nhận.",
        "en": "That's all right. Choose the closest answer below; you can change it at the confirmation step.",
    },
    "needed_way_out": {
        "vi": "Câu này cần để tiếp tục. Nếu bạn không có câu trả lời, bạn có thể quay lại hoặc về menu chính.",
        "en": "I need this to go on. If you don't have an answer, you can go back or return to the main menu.",
    },
    "no_link_way_out": {
        "vi": "Không có đường link thì tôi chưa kiểm tra được. Nếu họ gọi điện hoặc nhắn tin, bạn có thể kiểm "
        "tra số điện thoại đó; hoặc dán link vào đây khi có.",
        "en": "Without a link there is nothing for me to check. If they called or messaged you, you can check "
        "that number instead; or paste the link here when you have it.",
    },
    "did_you_mean": {"vi": "Có phải ý bạn là trường nào dưới đây?", "en": "Did you mean one of these schools?"},
    "school_question": {
        "vi": "Tôi sẽ kiểm tra giúp bạn. Trước hết, họ nói là từ trường nào? Hãy gõ tên trường, ví dụ "
        "“THCS Nguyễn Du”.",
        "en": "I will check it for you. First, which school did they name? Type the school's name, e.g. "
        "“THCS Nguyễn Du”.",
    },
    "school_name": {
        "vi": "Tôi chưa thấy tên trường. Hãy gõ tên trường, ví dụ “THCS Nguyễn Du”, hoặc bấm “Bỏ qua”.",
        "en": "I could not find a school's name. Type it, e.g. “THCS Nguyễn Du”, or press “Skip”.",
    },
    "invalid_place": {
        "vi": "Hãy gõ tên xã / phường, ví dụ “Phường Tân Thành” hoặc “Xã Tân Lộc”.",
        "en": "Please type the commune or ward, e.g. “Phường Tân Thành” or “Xã Tân Lộc”.",
    },
    "btn_keep_typed": {"vi": "Không phải, giữ “{name}”", "en": "None of these, keep “{name}”"},
    "btn_check_call": {"vi": "📞 Kiểm tra cuộc gọi", "en": "📞 Check a call"},
    "edit_which": {"vi": "Bạn muốn sửa mục nào?", "en": "Which item do you want to change?"},
    "language_set": {"vi": "Đã chuyển sang tiếng Việt.", "en": "Switched to English."},
    "btn_skip": {"vi": "Bỏ qua", "en": "Skip"},
    "btn_done": {"vi": "Xong", "en": "Done"},
    "btn_submit": {"vi": "✅ Gửi báo cáo", "en": "✅ Submit report"},
    "btn_edit": {"vi": "✏️ Sửa thông tin", "en": "✏️ Edit"},
    "btn_cancel": {"vi": "Hủy", "en": "Cancel"},
    "btn_menu": {"vi": "Về menu chính", "en": "Main menu"},
    "btn_back": {"vi": "Quay lại", "en": "Back"},
    "value_none": {"vi": "—", "en": "—"},
    "attachments_count": {"vi": "{count} tệp", "en": "{count} file(s)"},
}


class _SafeDict(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def say(key: str, locale: str, **values: Any) -> str:
    """A system text in ``locale`` with ``{placeholders}`` filled (unknown ones left visible)."""
    entry = TEXTS[key]
    return fill(entry.get(locale) or entry["vi"], values)


def fill(template: str, values: dict[str, Any]) -> str:
    return template.format_map(_SafeDict(values))
