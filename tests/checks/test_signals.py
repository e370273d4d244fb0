import pytest

from handlers.checks.signals import asked_in_text

PROVINCE_WARNING = (
    "Hiện nay, xuất hiện thủ đoạn lừa đảo trực tuyến giả mạo nhà trường yêu cầu cung cấp thông tin, cài đặt ứng "
    "dụng \"sổ liên lạc điện tử\". Đề nghị Nhân dân nâng cao cảnh giác, không cung cấp tài khoản ngân hàng, mã OTP "
    "hoặc cài đặt các ứng dụng lạ, nếu nhận được cuộc gọi có dấu hiệu bất thường, người dân cần liên hệ ngay với "
    "nhà trường, Công an nơi gần nhất để được hỗ trợ"
)


@pytest.mark.parametrize(("text", "asked"), [
    ("Phụ huynh vui lòng đọc mã OTP vừa gửi về điện thoại để xác nhận hồ sơ cho cháu.", {"otp"}),
    ("ph doc giup co ma otp nhe", {"otp"}),
    ("Cho cô xin mã xác thực gửi về máy ạ", {"otp"}),
    ("Gửi cô stk để nhà trường hoàn tiền học phí", {"bank_account"}),
    ("anh ck cho co 500k vao tk nay nhe", {"money_transfer"}),
    ("Con đang cấp cứu, chuyển tiền gấp 20 triệu cho bệnh viện", {"money_transfer"}),
    ("Nộp tiền học phí vào tài khoản ngân hàng 0123456789", {"money_transfer", "bank_account"}),
    ("Cài đặt ứng dụng Sổ liên lạc điện tử theo link sau", {"install_app"}),
    ("Tai app SLLDT ve may de cap nhat phien ban moi", {"install_app"}),
    ("Tải file SoLienLac.apk rồi cài vào máy", {"install_app"}),
    ("Bổ sung hồ sơ học sinh: gửi ảnh CCCD của bố mẹ", {"personal_info"}),
    ("Xác nhận mã định danh điện tử cho học sinh", {"student_id_code"}),
    ("Bấm vào link để xem điểm", {"click_link"}),
    ("Send me the OTP please", {"otp"}),
])
def test_requests_are_read(text, asked):
    assert asked_in_text(text) == asked


@pytest.mark.parametrize("text", [
    "Không cung cấp mã OTP cho bất kỳ ai.",
    "khong cung cap ma otp cho bat ky ai",
    "ko gui ma otp cho ai nhe",
    "Tuyệt đối không chuyển tiền, không cung cấp số tài khoản.",
    "Đừng cài ứng dụng lạ.",
    "Nhà trường không bao giờ yêu cầu mã OTP hay số tài khoản qua điện thoại.",
    "Never share your OTP.",
    PROVINCE_WARNING,
    "Mã OTP của quý khách là 123456. Không cung cấp mã OTP cho bất kỳ ai.",
    "Tài khoản VNeID của bạn đã được kích hoạt.",
])
def test_warnings_and_notices_are_not_requests(text):
    assert asked_in_text(text) == frozenset()


def test_a_fresh_request_after_a_warning_still_counts():
    assert asked_in_text("Để tránh lừa đảo, phụ huynh vui lòng đọc mã OTP cho cô.") == {"otp"}
    assert asked_in_text("Không phải lừa đảo đâu, nhưng anh chị hãy gửi mã OTP giúp cô") == {"otp"}


def test_a_threat_is_not_a_warning():
    assert asked_in_text("Nếu không cung cấp mã OTP, hồ sơ của cháu sẽ bị khóa") == {"otp"}


def test_folded_words_that_look_like_dont_are_not_negations():
    # "đúng" and "sử dụng" both fold to "dung"
    assert asked_in_text("Đúng rồi, anh sử dụng mã OTP vừa nhận để xác nhận") == {"otp"}


def test_each_sentence_is_judged_on_its_own():
    text = "Không chia sẻ mật khẩu với ai. Phụ huynh nộp tiền học phí qua tài khoản sau"
    assert asked_in_text(text) == {"money_transfer"}


def test_dots_in_links_do_not_split_sentences():
    assert asked_in_text("Không bấm vào vnedu.vn.evil.com rồi nhập mã OTP") == frozenset()
