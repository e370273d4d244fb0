"""VietQR / EMVCo merchant-presented QR payloads: TLV fields, the CRC, and who the money would go to.

A VietQR code is an EMVCo MPM string: ``ID(2) LEN(2) VALUE`` fields, ``00`` = "01" (format), ``38`` = the
NAPAS beneficiary (GUID ``A000000727``, then ``01`` = BIN ``00`` + account ``01``, and ``02`` = service
``QRIBFTTA`` for an account or ``QRIBFTTC`` for a card), ``54`` amount, ``62``/``08`` the transfer note, and
``63`` a CRC-16/CCITT-FALSE over everything up to and including ``6304``. Pure functions, no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from handlers import yamlio

NAPAS_GUID = "A000000727"
_SERVICES = {"QRIBFTTA": "account", "QRIBFTTC": "card"}


class NotEmvco(ValueError):
    """The text is not a well-formed EMVCo payload."""


@dataclass(frozen=True, slots=True)
class Bank:
    bin: str
    short: str
    name: str


@dataclass(frozen=True, slots=True)
class Payment:
    """What a payment QR asks for. ``crc_ok`` False means the code was altered after it was made."""

    account: str | None
    bin: str | None
    bank: Bank | None
    service: str | None  # "account" | "card" | None (not a NAPAS transfer: a merchant or a wallet)
    amount: str | None
    note: str | None
    merchant: str | None
    crc_ok: bool
    dynamic: bool

    @property
    def bank_label(self) -> str:
        if self.bank is not None:
            return self.bank.short
        return f"BIN {self.bin}" if self.bin else "?"

    def to_json(self) -> dict[str, Any]:
        return {"account": self.account, "bin": self.bin, "bank": self.bank.short if self.bank else None,
                "bank_name": self.bank.name if self.bank else None, "service": self.service,
                "amount": self.amount, "note": self.note, "merchant": self.merchant, "crc_ok": self.crc_ok,
                "dynamic": self.dynamic}


@cache
def banks() -> dict[str, Bank]:
    """BIN → bank, from handlers/evidence/data/banks.yaml."""
    raw = yamlio.safe_load(resources.files("handlers.evidence").joinpath("data", "banks.yaml").read_text("utf-8"))
    return {str(k): Bank(str(k), str(v["short"]), str(v["name"])) for k, v in raw["banks"].items()}


def crc16(data: bytes) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF), as EMVCo specifies."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def parse_tlv(text: str) -> list[tuple[str, str]]:
    """``ID LEN VALUE`` fields in order. :class:`NotEmvco` on a length that runs past the end."""
    out, pos = [], 0
    while pos < len(text):
        head = text[pos:pos + 4]
        if len(head) < 4 or not head.isdigit():
            raise NotEmvco(f"bad field header at {pos}")
        tag, length = head[:2], int(head[2:])
        value = text[pos + 4:pos + 4 + length]
        if len(value) != length:
            raise NotEmvco(f"field {tag} runs past the end")
        out.append((tag, value))
        pos += 4 + length
    return out


def looks_like_emvco(text: str) -> bool:
    return text.startswith("000201") and "6304" in text


def parse_payment(text: str) -> Payment:
    """Read a VietQR / EMVCo payload. :class:`NotEmvco` when it is not one at all."""
    text = text.strip()
    if not looks_like_emvco(text):
        raise NotEmvco("does not start with the EMVCo format field 000201")
    fields = parse_tlv(text)
    top = dict(fields)
    if "63" not in top or not re.fullmatch(r"[0-9A-Fa-f]{4}", top["63"]):
        raise NotEmvco("no CRC field")
    crc_at = text.rfind("6304")
    crc_ok = crc_at == len(text) - 8 and crc16(text[:crc_at + 4].encode()) == int(top["63"], 16)
    account = bin_ = service = None
    for tag, value in fields:
        if not ("26" <= tag <= "51"):
            continue  # merchant account information templates
        try:
            sub = dict(parse_tlv(value))
        except NotEmvco:
            continue
        if sub.get("00", "").upper() != NAPAS_GUID:
            continue
        try:
            beneficiary = dict(parse_tlv(sub.get("01", "")))
        except NotEmvco:
            beneficiary = {}
        bin_ = beneficiary.get("00") or None
        account = beneficiary.get("01") or None
        service = _SERVICES.get(sub.get("02", ""))
        break
    extra: dict[str, str] = {}
    if "62" in top:
        try:
            extra = dict(parse_tlv(top["62"]))
        except NotEmvco:
            extra = {}
    return Payment(
        account=account, bin=bin_, bank=banks().get(bin_ or ""), service=service, amount=top.get("54"),
        note=extra.get("08"), merchant=top.get("59"), crc_ok=crc_ok, dynamic=top.get("01") == "12",
    )


def build_payload(*, bin_: str, account: str, amount: str | None = None, note: str | None = None,
                  card: bool = False) -> str:
    """A VietQR payload as a bank app makes one (tests and the benchmark generate codes with it)."""

    def field(tag: str, value: str) -> str:
        return f"{tag}{len(value):02d}{value}"

    beneficiary = field("00", bin_) + field("01", account)
    merchant = field("00", NAPAS_GUID) + field("01", beneficiary) + field("02", "QRIBFTTC" if card else "QRIBFTTA")
    body = field("00", "01") + field("01", "12" if amount else "11") + field("38", merchant) + field("53", "704")
    if amount:
        body += field("54", amount)
    body += field("58", "VN")
    if note:
        body += field("62", field("08", note))
    body += "6304"
    return body + f"{crc16(body.encode()):04X}"
