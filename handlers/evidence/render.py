"""What the parent sees of a reading: "Tôi đọc được: …" (secrets already masked), or why it was not read."""

from __future__ import annotations

from collections.abc import Sequence

from handlers.evidence.check import FLAG_WORDS
from handlers.evidence.work import Reading

SHOWN_CHARS = 700  # enough to recognise the message; the whole text is kept with the report

TEXTS = {
    "read": {"vi": "🔎 Tôi đọc được:", "en": "🔎 I read:"},
    "forwarded": {"vi": "📨 Tin nhắn chuyển tiếp{sender}:", "en": "📨 Forwarded message{sender}:"},
    "from": {"vi": " từ {who}", "en": " from {who}"},
    "masked": {"vi": "(Mã OTP / số thẻ trong ảnh đã được ẩn, không lưu lại.)",
               "en": "(OTP codes and card numbers in it were masked and are not stored.)"},
    "no_text": {"vi": "Tôi không thấy chữ nào đọc được trong ảnh này.",
                "en": "I found no readable text in this image."},
    "no_ocr": {"vi": "Máy chủ chưa cài bộ đọc chữ nên tôi chỉ tìm mã QR trong ảnh.",
               "en": "Text reading is not installed on this server, so I only looked for QR codes."},
    "unreadable": {"vi": "Tôi chưa đọc được ảnh này ({why}). Ảnh vẫn được lưu làm bằng chứng.",
                   "en": "I could not read this image ({why}). It is still kept as evidence."},
    "apk_unreadable": {"vi": "Tôi không mở được tệp ứng dụng này ({why}). Đừng cài tệp này.",
                       "en": "I could not inspect this app file ({why}). Do not install it."},
    "qr_link": {"vi": "Mã QR chứa đường link: {value}", "en": "The QR code holds a link: {value}"},
    "qr_phone": {"vi": "Mã QR chứa số điện thoại: {value}", "en": "The QR code holds a phone number: {value}"},
    "qr_text": {"vi": "Mã QR chứa: {value}", "en": "The QR code holds: {value}"},
    "qr_payment": {"vi": "Mã QR chuyển tiền tới tài khoản {account} tại ngân hàng {bank}{extra}.",
                   "en": "The QR code sends money to account {account} at {bank}{extra}."},
    "apk": {"vi": "📦 Ứng dụng Android: {label} — tên gói {package}, phiên bản {version}.",
            "en": "📦 Android app: {label} — package {package}, version {version}."},
    "apk_perms": {"vi": "Quyền đáng ngại: {flags}.", "en": "Worrying permissions: {flags}."},
    "apk_cert": {"vi": "Chữ ký số (SHA-256): {cert}", "en": "Signing certificate (SHA-256): {cert}"},
    "apk_nocert": {"vi": "Tệp không có chữ ký số.", "en": "The file is not signed."},
}
WHY = {
    "too_large": ("tệp quá lớn", "the file is too large"),
    "too_many_pixels": ("ảnh quá nhiều điểm ảnh", "the image has too many pixels"),
    "not_image": ("không phải ảnh", "not an image"),
    "corrupt": ("ảnh bị hỏng", "the image is damaged"),
    "timeout": ("đọc quá lâu", "it took too long"),
    "busy": ("máy chủ đang bận, hãy gửi lại sau ít phút", "the server is busy; send it again in a few minutes"),
    "crashed": ("tệp làm bộ đọc dừng lại", "the file stopped the reader"),
    "ocr_failed": ("lỗi bộ đọc chữ", "the text reader failed"),
    "zip_bomb": ("tệp nén bất thường — có thể là tệp độc hại", "an abnormal archive, possibly malicious"),
    "path_traversal": ("tệp chứa tên đường dẫn độc hại", "the archive has hostile file names"),
    "malformed": ("tệp bị hỏng hoặc bị làm giả", "the file is damaged or forged"),
    "bad_manifest": ("phần khai báo ứng dụng bị hỏng hoặc bị làm rối", "its manifest is damaged or obfuscated"),
    "not_apk": ("không phải tệp APK", "not an APK file"),
    "unsupported": ("loại tệp không hỗ trợ", "an unsupported type of file"),
    "unreadable": ("không mở được tệp", "the file could not be opened"),
}


def t(key: str, locale: str, **values: str) -> str:
    text = TEXTS[key].get(locale) or TEXTS[key]["vi"]
    return text.format(**values) if values else text


def why(reason: str | None, locale: str) -> str:
    vi, en = WHY.get(reason or "", WHY["unreadable"])
    return en if locale == "en" else vi


def _shown(text: str) -> str:
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS].rstrip() + " …"


def _code_lines(reading: Reading, locale: str) -> list[str]:
    lines = []
    for code in reading.codes:
        kind = code.get("kind")
        if kind == "payment" and isinstance(code.get("payment"), dict):
            pay = code["payment"]
            extra = ""
            if pay.get("amount"):
                extra += f", số tiền {pay['amount']} đồng" if locale != "en" else f", amount {pay['amount']} VND"
            if pay.get("note"):
                extra += f" — «{pay['note']}»"
            bank = pay.get("bank") or (f"BIN {pay['bin']}" if pay.get("bin") else "?")
            lines.append(t("qr_payment", locale, account=str(pay.get("account") or "?"), bank=str(bank), extra=extra))
        elif kind in ("link", "phone", "text"):
            value = str(code.get("phone") if kind == "phone" else code.get("content") or "")
            if kind == "link":
                value = value.replace(".", "[.]")  # shown inert: never a tappable link
            lines.append(t(f"qr_{kind}", locale, value=_shown(value)))
    return lines


def _apk_lines(apk: dict[str, object], locale: str) -> list[str]:
    label = apk.get("label") or apk.get("file_name") or "?"
    lines = [t("apk", locale, label=f"«{label}»", package=str(apk.get("package") or "?"),
               version=str(apk.get("version_name") or apk.get("version_code") or "?"))]
    flags = [f for f in apk.get("red_flags") or () if isinstance(f, str) and f in FLAG_WORDS]  # type: ignore[attr-defined]
    if flags:
        lines.append(t("apk_perms", locale, flags=", ".join(FLAG_WORDS[f][1 if locale == "en" else 0] for f in flags)))
    cert = apk.get("certificate_sha256")
    if isinstance(cert, str) and cert:
        lines.append(t("apk_cert", locale, cert=":".join(cert[i:i + 2] for i in range(0, 16, 2)) + "…"))
    else:
        lines.append(t("apk_nocert", locale))
    return lines


def describe(readings: Sequence[Reading], locale: str) -> list[str]:
    """One message text per reading: what was read, or why it was not."""
    out = []
    for r in readings:
        if not r.ok:
            out.append(t("apk_unreadable" if r.kind == "apk" else "unreadable", locale, why=why(r.error, locale)))
            continue
        if r.kind == "apk" and r.apk is not None:
            out.append("\n".join(_apk_lines(r.apk, locale)))
            continue
        if r.kind == "forwarded":
            sender = t("from", locale, who=r.sender) if r.sender else ""
            lines = [t("forwarded", locale, sender=sender), f"«{_shown(r.text)}»"]
        else:
            lines = [t("read", locale)]
            if r.text:
                lines.append(f"«{_shown(r.text)}»")
            elif not r.codes:
                lines = [t("no_text", locale) if r.ocr else t("no_ocr", locale)]
        lines += _code_lines(r, locale)
        if r.masked:
            lines.append(t("masked", locale))
        out.append("\n".join(lines))
    return out
