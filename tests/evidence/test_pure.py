"""Reading evidence without the pool: OCR on drawn screenshots, QR codes, VietQR payloads, APKs, forwards."""

from __future__ import annotations

import io
import zipfile

import pytest
from PIL import Image

from handlers.evidence.apk import inspect_apk
from handlers.evidence.apps import load_apps, match_apk
from handlers.evidence.check import evidence_findings
from handlers.evidence.emvco import NotEmvco, build_payload, parse_payment
from handlers.evidence.forwarded import forwarded_of, split_pasted
from handlers.evidence.limits import Limits, Unreadable
from handlers.evidence.work import Reading, read_file
from tests.evidence.apkbuild import build_apk, fingerprint, manifest, signing_identity
from tests.evidence.conftest import OFFICIAL_PACKAGE, needs_ocr, official_apps
from tests.evidence.screens import char_accuracy, png, qr_image, render, screenshot

LIMITS = Limits()
PERMS = ("android.permission.RECEIVE_SMS", "android.permission.READ_SMS", "android.permission.INTERNET",
         "android.permission.SYSTEM_ALERT_WINDOW")


def read(data: bytes, name: str = "x") -> Reading:
    return Reading.from_json(read_file(data, name, LIMITS))


@needs_ocr
@pytest.mark.parametrize("dark", [False, True])
def test_clean_screenshot_is_read_accurately(dark):
    shot = screenshot(0, dark=dark)
    reading = read(shot.png)
    assert reading.ok and reading.kind == "image"
    assert char_accuracy(reading.text, shot.truth) >= 0.95
    assert "vnedu-so.com/app.apk" in reading.text and "0912 345 678" in reading.text


@needs_ocr
def test_noisy_jpeg_screenshot_still_gives_the_asks():
    shot = screenshot(3, noisy=True)
    reading = read(shot.png)
    assert char_accuracy(reading.text, shot.truth) >= 0.85
    assert "hoantien-vnedu.net" in reading.text


@needs_ocr
def test_otp_in_a_screenshot_is_masked_before_it_leaves_the_reader():
    image = render("Ngân hàng", ["Mã OTP của quý khách là 483920, không chia sẻ cho ai."], sent_last=False)
    reading = read(png(image))
    assert "483920" not in reading.text and reading.masked
    assert "483920" not in str(reading.to_json())


def test_qr_link_phone_and_payment_are_classified():
    assert read(qr_image("https://vnedu-so.com/a.apk")).codes[0]["kind"] == "link"
    assert read(qr_image("tel:0912345678")).codes[0]["phone"] == "0912345678"
    payload = build_payload(bin_="970436", account="0071000123456", amount="500000", note="HOC PHI")
    code = read(qr_image(payload, on_photo=True)).codes[0]
    assert code["kind"] == "payment"
    assert code["payment"]["bank"] == "Vietcombank" and code["payment"]["account"] == "0071000123456"
    assert code["payment"]["crc_ok"] is True


def test_vietqr_crc_catches_an_edited_payload():
    payload = build_payload(bin_="970415", account="123456789")
    edited = payload.replace("123456789", "987654321")
    assert parse_payment(payload).crc_ok and not parse_payment(edited).crc_ok
    assert parse_payment(payload).bank.short == "VietinBank"  # type: ignore[union-attr]
    with pytest.raises(NotEmvco):
        parse_payment("000201" + "99" + "6304")


def test_payment_reasons_name_the_account_and_bank():
    payload = build_payload(bin_="970436", account="0071000123456")
    reading = read(qr_image(payload[:-1] + ("0" if payload[-1] != "0" else "1")))
    codes = {f.code: f for f in evidence_findings([reading], load_apps())}
    assert codes["qr_payment"].params["account"] == "0071000123456"
    assert codes["qr_payment"].params["bank"] == "Vietcombank"
    assert "qr_tampered" in codes


def test_apk_with_dangerous_permissions_imitating_vnedu():
    apk = build_apk(manifest("com.update.solienlac", label="Sổ Liên Lạc Điện Tử", permissions=PERMS,
                             accessibility_service=True), signer=signing_identity())
    reading = read(apk, "SoLienLac.apk")
    assert reading.ok and reading.kind == "apk" and reading.apk is not None
    assert reading.apk["package"] == "com.update.solienlac" and reading.apk["label"] == "Sổ Liên Lạc Điện Tử"
    assert set(reading.apk["red_flags"]) == {"sms", "overlay", "accessibility"}
    codes = {f.code: f.severity for f in evidence_findings([reading], load_apps())}
    assert codes == {"apk_imitates_official": "high", "apk_dangerous_permissions": "high"}


def test_apk_without_dangerous_permissions_is_still_not_official():
    reading = read(build_apk(manifest("com.example.notes", label="Ghi chú",
                                      permissions=("android.permission.INTERNET",))))
    assert reading.apk is not None and reading.apk["red_flags"] == [] and reading.apk["certificate_sha256"] is None
    assert {f.code for f in evidence_findings([reading], load_apps())} == {"apk_not_official"}


def test_official_package_and_certificate_match_or_a_repack_is_caught():
    signer = signing_identity("VNPT")
    apps = official_apps(fingerprint(signer[1]))
    genuine = read(build_apk(manifest(OFFICIAL_PACKAGE, label="vnEdu Connect"), signer=signer))
    assert genuine.apk is not None and genuine.apk["certificate_sha256"] == fingerprint(signer[1])
    assert match_apk(genuine.apk, apps).kind == "official"  # type: ignore[arg-type]
    repack = read(build_apk(manifest(OFFICIAL_PACKAGE, label="vnEdu Connect"), signer=signing_identity("x")))
    found = evidence_findings([repack], apps)  # type: ignore[arg-type]
    assert [(f.code, f.params.get("variant")) for f in found] == [("apk_imitates_official", "certificate")]


def _zip(entries: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return out.getvalue()


@pytest.mark.parametrize(("entries", "reason"), [
    ({"AndroidManifest.xml": b"\x00" * (50 * 1024 * 1024)}, "zip_bomb"),
    ({"AndroidManifest.xml": manifest("a.b"), "../../etc/passwd": b"x"}, "path_traversal"),
    ({"AndroidManifest.xml": b"\x03\x00\x08\x00garbage-not-axml" * 10}, "bad_manifest"),
    ({"classes.dex": b"dex"}, "not_apk"),
])
def test_hostile_apks_are_refused_cleanly(entries, reason):
    with pytest.raises(Unreadable) as caught:
        inspect_apk(_zip(entries), LIMITS)
    assert caught.value.reason == reason
    assert read(_zip(entries)).error == reason  # the reader answers, it does not raise


def test_decompression_bomb_and_corrupt_png_get_a_clear_answer():
    bomb = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(bomb, "PNG")  # 400 Mpx in a few kB
    assert read(bomb.getvalue()).error == "too_many_pixels"
    broken = png(Image.new("RGB", (200, 200), "white"))
    assert read(broken[:60] + b"\x00" * 50 + broken[110:]).error in ("corrupt", "not_image")


def test_pasted_sms_is_split_from_the_parents_words():
    fwd = split_pasted("cô ơi tin này có phải lừa đảo không\nTừ: 0912 345 678\n09:15\n"
                       "Kính gửi phụ huynh, vui lòng cài ứng dụng Sổ liên lạc tại link http://x.example")
    assert fwd is not None and fwd.sender_phone == "0912 345 678"
    assert fwd.own == "cô ơi tin này có phải lừa đảo không" and fwd.text.startswith("Kính gửi phụ huynh")
    assert split_pasted("tôi muốn báo cáo\nhọ gọi tôi hôm qua") is None


def test_channel_forwards_and_shared_messages():
    telegram = forwarded_of("Chuyển tiền gấp cho cô", {"forwarded_from": "Cô Hoa (@cohoa)"})
    assert telegram is not None and telegram.sender == "Cô Hoa (@cohoa)" and telegram.own == ""
    zalo = forwarded_of("có phải lừa đảo?", {"forwarded_text": "Nộp học phí qua link", "forwarded_from": "X"})
    assert zalo is not None and zalo.text == "Nộp học phí qua link" and zalo.own == "có phải lừa đảo?"
