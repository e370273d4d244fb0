"""What the checks say, in Vietnamese (the contract language) and English.

Templates are filled from a finding's params: ``{subject}`` (a number, or a host with its dots defanged so
no client turns it into a link), ``{school}``, ``{other}``, ``{count}``, ``{target}``, ``{detail}``.
Every reason code has one template per locale; variants (``code:variant``) explain a specific case.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

LOCALES: Final = ("vi", "en")

REASONS: Final[Mapping[str, Mapping[str, str]]] = {
    "asks_otp": {
        "vi": "Họ đòi mã OTP. Nhà trường không bao giờ hỏi mã OTP; ai có mã này là rút được tiền của bạn.",
        "en": "They asked for an OTP code. Schools never ask for one; whoever has it can take your money.",
    },
    "asks_bank_account": {
        "vi": "Họ hỏi số tài khoản hoặc thông tin ngân hàng. Nhà trường không hỏi việc này qua điện thoại, tin nhắn.",
        "en": "They asked for bank account or card details. Schools never ask for these by phone or message.",
    },
    "asks_money_transfer": {
        "vi": "Họ yêu cầu chuyển tiền. Nhà trường không bao giờ yêu cầu chuyển tiền qua điện thoại, tin nhắn.",
        "en": "They asked you to transfer money. Schools never ask for money by phone or message.",
    },
    "asks_install_app": {
        "vi": "Họ yêu cầu cài ứng dụng. Ứng dụng thật chỉ cài từ App Store hoặc Google Play, không cài từ link.",
        "en": "They asked you to install an app. Real apps come only from the App Store or Google Play.",
    },
    "asks_personal_info": {
        "vi": "Họ hỏi thông tin cá nhân (CCCD, ngày sinh, hồ sơ…). Nhà trường đã có hồ sơ, không cần hỏi qua "
              "điện thoại.",
        "en": "They asked for personal details (ID card, birth date, records). The school already has them.",
    },
    "asks_student_id_code": {
        "vi": "Họ hỏi mã định danh của học sinh — kịch bản lừa đảo quen thuộc \"xác nhận mã định danh điện tử\".",
        "en": "They asked for the student's ID code, a well-known scam script (\"confirm the electronic ID\").",
    },
    "phone_blocklisted": {
        "vi": "Số {subject} có trong danh sách số lừa đảo đã được Công an xác nhận.",
        "en": "The number {subject} is on the police-confirmed list of scam numbers.",
    },
    "phone_reported": {
        "vi": "Số {subject} đã bị {count} người báo cáo là lừa đảo.",
        "en": "The number {subject} has been reported as a scam by {count} people.",
    },
    "phone_spoofing_possible": {
        "vi": "Số {subject} là số chính thức của nhà trường, nhưng đã có {count} người báo kẻ gian giả mạo số này. "
              "Hãy cúp máy và tự gọi lại cho trường theo số chính thức.",
        "en": "{subject} is the school's official number, but {count} people reported scammers faking it. Hang up "
              "and call the school back on its official number yourself.",
    },
    "phone_official": {
        "vi": "Số {subject} là số chính thức của {school}. Dù vậy số gọi đến vẫn có thể bị giả mạo.",
        "en": "The number {subject} is an official number of {school}. Caller IDs can still be faked.",
    },
    "phone_not_official": {
        "vi": "Số {subject} không có trong danh sách số chính thức của {school}.",
        "en": "The number {subject} is not among the official numbers of {school}.",
    },
    "phone_not_official:other_school": {
        "vi": "Số {subject} không phải số của {school} (đó là số của {other}).",
        "en": "The number {subject} is not a number of {school} (it belongs to {other}).",
    },
    "phone_not_official:premium": {
        "vi": "Số {subject} là đầu số 1900 tính cước cao, không bao giờ là số chính thức của nhà trường.",
        "en": "The number {subject} is a premium-rate 1900 number, never a school's official number.",
    },
    "phone_not_official:unknown_school": {
        "vi": "Không tìm thấy trường \"{school}\" trong danh bạ, và số {subject} không phải số chính thức của "
              "trường nào.",
        "en": "No school \"{school}\" is in the directory, and {subject} is not any school's official number.",
    },
    "phone_not_official:no_school": {
        "vi": "Người gọi xưng là {role} nhưng số {subject} không phải số chính thức của trường nào trong danh bạ.",
        "en": "The caller claimed to be a {role}, but {subject} is not any school's official number.",
    },
    "phone_foreign": {
        "vi": "Số {subject} là số nước ngoài. Nhà trường không gọi cho phụ huynh từ số nước ngoài.",
        "en": "The number {subject} is a foreign number. Schools do not call parents from abroad.",
    },
    "phone_invalid": {
        "vi": "Số {subject} không phải số điện thoại hợp lệ; số hiển thị có thể đã bị làm giả.",
        "en": "{subject} is not a valid phone number; the caller ID may have been faked.",
    },
    "url_official": {
        "vi": "Link {subject} thuộc tên miền chính thức.",
        "en": "The link {subject} is on an official domain.",
    },
    "url_lookalike": {
        "vi": "Link {subject} giả mạo tên miền chính thức {target}.",
        "en": "The link {subject} imitates the official domain {target}.",
    },
    "url_lookalike:userinfo": {
        "vi": "Link {subject} giả mạo {target}: phần trước dấu @ chỉ là ngụy trang, link thật dẫn tới nơi khác.",
        "en": "The link {subject} imitates {target}: the part before \"@\" is a disguise; it goes elsewhere.",
    },
    "url_lookalike:left_subdomain": {
        "vi": "Link {subject} giả mạo {target}: tên miền thật là phần cuối, không phải {target}.",
        "en": "The link {subject} imitates {target}: the real domain is the end part, not {target}.",
    },
    "url_lookalike:homoglyph": {
        "vi": "Link {subject} giả mạo {target} bằng ký tự trông giống (chữ nước ngoài, số thay chữ).",
        "en": "The link {subject} imitates {target} with look-alike characters (foreign letters, digits).",
    },
    "url_lookalike:brand": {
        "vi": "Link {subject} mượn tên {target} nhưng không phải tên miền chính thức.",
        "en": "The link {subject} borrows the name of {target} but is not its official domain.",
    },
    "url_lookalike:typo": {
        "vi": "Link {subject} viết gần giống {target} nhưng sai vài chữ: tên miền giả.",
        "en": "The link {subject} is spelled almost like {target}: a fake domain.",
    },
    "url_blocklisted": {
        "vi": "Tên miền {subject} có trong danh sách trang lừa đảo đã được Công an xác nhận.",
        "en": "The domain {subject} is on the police-confirmed list of scam sites.",
    },
    "url_apk": {
        "vi": "Link {subject} tải tệp .apk (ứng dụng Android ngoài cửa hàng) — loại ứng dụng dùng để chiếm điện thoại.",
        "en": "The link {subject} downloads an .apk (an Android app outside the store), used to take over phones.",
    },
    "url_reported": {
        "vi": "Tên miền {subject} đã bị {count} người báo cáo là lừa đảo.",
        "en": "The domain {subject} has been reported as a scam by {count} people.",
    },
    "url_shortener": {
        "vi": "Link {subject} là link rút gọn, che giấu trang thật sẽ mở ra.",
        "en": "The link {subject} is a shortened link that hides where it really goes.",
    },
    "url_ip_literal": {
        "vi": "Link {subject} dùng địa chỉ IP thay cho tên miền, dấu hiệu của trang giả.",
        "en": "The link {subject} uses a bare IP address instead of a domain name, a sign of a fake page.",
    },
    "url_unknown_domain": {
        "vi": "Link {subject} không thuộc tên miền chính thức nào của nhà trường hay sổ liên lạc điện tử.",
        "en": "The link {subject} is not on any official school or e-contact-book domain.",
    },
    "url_not_https": {
        "vi": "Link {subject} không dùng kết nối bảo mật (https).",
        "en": "The link {subject} does not use a secure connection (https).",
    },
    # Evidence (handlers/evidence): {detail_vi}/{detail_en} are lists already written in each language.
    "apk_imitates_official": {
        "vi": "Ứng dụng {subject} giả danh {target}: tên giống nhưng không phải ứng dụng chính thức. Đừng cài.",
        "en": "The app {subject} poses as {target}: a similar name, but not the official app. Do not install it.",
    },
    "apk_imitates_official:certificate": {
        "vi": "Ứng dụng {subject} mang tên gói của {target} nhưng chữ ký số khác: đây là bản bị sửa. Đừng cài.",
        "en": "The app {subject} uses {target}'s package name but another signature: a tampered copy. Do not "
              "install it.",
    },
    "apk_imitates_official:link": {
        "vi": "Link {subject} tải tệp .apk mang tên {target}; ứng dụng thật chỉ có trên Google Play / App Store.",
        "en": "The link {subject} downloads an .apk named after {target}; the real app is only on Google Play / "
              "the App Store.",
    },
    "apk_dangerous_permissions": {
        "vi": "Ứng dụng {subject} xin quyền {detail_vi} — đủ để đọc mã OTP và điều khiển điện thoại. Đừng cài; "
              "nếu đã cài, hãy tắt mạng và gọi ngân hàng ngay.",
        "en": "The app {subject} asks for {detail_en} — enough to read OTP codes and control the phone. Do not "
              "install it; if you did, turn off mobile data and call your bank now.",
    },
    "apk_not_official": {
        "vi": "Tệp {subject} là ứng dụng Android gửi qua tin nhắn, không phải từ Google Play: không cài ứng dụng "
              "nhận qua tin nhắn hay link.",
        "en": "{subject} is an Android app sent as a file, not from Google Play: never install apps sent by "
              "message or link.",
    },
    "apk_not_official:unverified": {
        "vi": "Tệp {subject} mang tên gói của {target}, nhưng chưa có chữ ký chính thức để đối chiếu: chỉ cài "
              "{target} từ Google Play.",
        "en": "{subject} uses the package name of {target}, but there is no official signature to compare: "
              "install {target} only from Google Play.",
    },
    "apk_official": {
        "vi": "Tệp {subject} đúng là ứng dụng {target} (tên gói và chữ ký khớp). Dù vậy, chỉ nên cài từ Google "
              "Play.",
        "en": "{subject} is the real {target} app (package and signature match). Still, install it only from "
              "Google Play.",
    },
    "qr_payment": {
        "vi": "Mã QR này chuyển tiền tới tài khoản {account} tại ngân hàng {bank}{amount_vi}. Nhà trường không "
              "yêu cầu chuyển tiền qua mã QR gửi trong tin nhắn; hãy hỏi lại trường trước khi trả.",
        "en": "This QR code sends money to account {account} at {bank}{amount_en}. Schools do not ask for "
              "payment by a QR code sent in a message; ask the school before paying.",
    },
    "qr_tampered": {
        "vi": "Mã QR thanh toán này có mã kiểm tra (CRC) sai: nội dung đã bị sửa sau khi tạo.",
        "en": "This payment QR code fails its checksum (CRC): its content was altered after it was made.",
    },
}

ROLE_LABELS: Final[Mapping[str, Mapping[str, str]]] = {
    "principal": {"vi": "hiệu trưởng / ban giám hiệu", "en": "principal"},
    "homeroom_teacher": {"vi": "giáo viên chủ nhiệm", "en": "homeroom teacher"},
    "teacher": {"vi": "giáo viên", "en": "teacher"},
    "school_staff": {"vi": "nhân viên nhà trường", "en": "school staff member"},
    "education_department": {"vi": "Phòng / Sở Giáo dục", "en": "education department official"},
    "police": {"vi": "công an", "en": "police officer"},
    "bank": {"vi": "ngân hàng", "en": "bank"},
    "other": {"vi": "người của nhà trường", "en": "school representative"},
}

# Said where a template needs a school and none was matched.
ANY_SCHOOL: Final = {"vi": "một trường trong danh bạ", "en": "a school in the directory"}

HEADLINES: Final[Mapping[str, Mapping[str, str]]] = {
    "scam": {"vi": "🚫 LỪA ĐẢO — đừng làm theo!", "en": "🚫 SCAM — do not do what they ask!"},
    "suspicious": {"vi": "⚠️ ĐÁNG NGỜ — hãy xác minh trước khi làm gì.",
                   "en": "⚠️ SUSPICIOUS — verify before doing anything."},
    "no_red_flags": {"vi": "✅ Chưa thấy dấu hiệu lừa đảo rõ ràng.", "en": "✅ No clear red flags found."},
}
REASONS_TITLE: Final = {"vi": "Lý do:", "en": "Why:"}

ADVICE: Final[Mapping[str, Mapping[str, str]]] = {
    "scam": {
        "vi": "Đây là lừa đảo. Đừng làm theo: không đọc mã OTP, không đưa số tài khoản, không chuyển tiền, không "
              "cài ứng dụng hay bấm vào link họ gửi. Muốn xác minh, hãy tự gọi lại nhà trường theo số chính thức "
              "(không gọi lại số vừa gọi cho bạn). Nếu đã lỡ chuyển tiền hoặc đưa mã OTP: gọi ngay ngân hàng để "
              "khóa tài khoản và báo Công an (113). Báo số lừa đảo tới tổng đài 156 hoặc nhắn tin tới 5656.",
        "en": "This is a scam. Do not do what they ask: no OTP codes, no bank details, no transfers, no apps or "
              "links from them. To verify, call the school yourself on its official number (not the number that "
              "called you). If you already paid or gave an OTP, call your bank now to lock the account and report "
              "to the police (113). Report the number to 156 or by SMS to 5656.",
    },
    "suspicious": {
        "vi": "Có dấu hiệu đáng ngờ. Đừng làm theo yêu cầu cho đến khi tự gọi lại nhà trường theo số chính thức "
              "để hỏi. Nhà trường không bao giờ yêu cầu mã OTP, số tài khoản, chuyển tiền hay cài ứng dụng qua "
              "điện thoại, tin nhắn. Có thể tra cứu trang web lạ tại tinnhiemmang.vn.",
        "en": "There are warning signs. Do nothing they ask until you have called the school yourself on its "
              "official number. Schools never ask for OTP codes, bank details, transfers or app installs by phone "
              "or message. You can look up unfamiliar websites at tinnhiemmang.vn.",
    },
    "no_red_flags": {
        "vi": "Chưa thấy dấu hiệu lừa đảo rõ ràng. Khi còn nghi ngờ, hãy gọi lại nhà trường theo số chính thức để "
              "xác minh; nhà trường không bao giờ yêu cầu mã OTP, số tài khoản, chuyển tiền hay cài ứng dụng qua "
              "điện thoại, tin nhắn.",
        "en": "No clear red flags. When in doubt, call the school back on its official number to verify; schools "
              "never ask for OTP codes, bank details, transfers or app installs by phone or message.",
    },
}
ADVICE_PHONES: Final = {
    "vi": "Số chính thức của {school}: {phones}.",
    "en": "Official numbers of {school}: {phones}.",
}
ADVICE_NO_CLICK: Final = {
    "vi": "Đừng bấm vào link họ gửi; hãy dán link vào đây để kiểm tra trước.",
    "en": "Don't open the link they sent; paste it here to check it first.",
}
CALL_BACK: Final = {
    "vi": "📞 Số chính thức của {school}: {phones}. Hãy tự gọi lại số này để hỏi nhà trường.",
    "en": "📞 Official numbers of {school}: {phones}. Call one yourself to ask the school.",
}
CALL_BACK_NONE: Final = {
    "vi": "Danh bạ chưa có số điện thoại của {school}; hãy liên hệ trực tiếp với nhà trường.",
    "en": "The directory has no phone number for {school}; contact the school in person.",
}


def template(code: str, variant: str | None, locale: str) -> str:
    """The template for a reason (and variant) in ``locale``, falling back to Vietnamese."""
    texts = REASONS.get(f"{code}:{variant}") if variant else None
    texts = texts or REASONS[code]
    return texts.get(locale) or texts["vi"]


def pick(texts: Mapping[str, str], locale: str) -> str:
    return texts.get(locale) or texts["vi"]
