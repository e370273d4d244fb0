"""QR codes in any image (zxing-cpp), and what their content is: a link, a number, a payment, or text."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import zxingcpp
from PIL import Image

from handlers.evidence.emvco import NotEmvco, Payment, looks_like_emvco, parse_payment

MAX_CODES = 8  # a poster may carry a few; more is not evidence a parent sends
MAX_CONTENT = 2000
_PHONE_URI = re.compile(r"^(?:tel:|sms:|smsto:)([+\d][\d .()-]{5,20})(?::(.*))?$", re.IGNORECASE | re.DOTALL)
_LINK = re.compile(r"^(?:https?://|www\.)\S+$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class QrCode:
    """One decoded code. ``kind``: ``link`` | ``phone`` | ``payment`` | ``text``."""

    kind: str
    content: str
    phone: str | None = None
    payment: Payment | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "content": self.content}
        if self.phone:
            out["phone"] = self.phone
        if self.payment is not None:
            out["payment"] = self.payment.to_json()
        return out


def classify(content: str) -> QrCode:
    """What a code's text is. Payment payloads are parsed (TLV, CRC); nothing is opened or dialled."""
    content = content.strip()[:MAX_CONTENT]
    if looks_like_emvco(content):
        try:
            return QrCode("payment", content, payment=parse_payment(content))
        except NotEmvco:
            pass
    phone = _PHONE_URI.match(content)
    if phone:
        return QrCode("phone", content, phone=phone.group(1).strip())
    if _LINK.match(content):
        return QrCode("link", content)
    return QrCode("text", content)


def read_codes(image: Image.Image) -> list[QrCode]:
    """Every QR code zxing-cpp finds (any rotation, inverted too), in reading order, duplicates dropped."""
    found = zxingcpp.read_barcodes(
        # A list, not "|" (deprecated in zxing-cpp 3); its stubs still name only the old type.
        image, formats=[zxingcpp.BarcodeFormat.QRCode, zxingcpp.BarcodeFormat.MicroQRCode],  # type: ignore[arg-type]
        try_rotate=True, try_invert=True,
    )
    seen: dict[str, QrCode] = {}
    for code in found[:MAX_CODES * 2]:
        if code.valid and code.text and code.text not in seen:
            seen[code.text] = classify(code.text)
    return list(seen.values())[:MAX_CODES]
