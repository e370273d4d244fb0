"""Filing tips straight into a test console's database, as the dialogue would (``storage.tips.create_tip``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from storage.cases import CaseTargets
from storage.files import store_attachment
from storage.keys import Attachment, ConversationKey
from storage.tips import Indicator, create_tip
from storage.units import replace_units
from tests.console.conftest import Console

UNITS = """unit_id,name,province_code,commune_code,commune_name
CA-96,Công an tỉnh Cà Mau,96,,
CA-TT,Công an phường Tân Thành,96,31993,Phường Tân Thành
CA-TL,Công an xã Tân Lộc,96,32014,Xã Tân Lộc
"""
XSS = '<script>alert("x")</script> "><img src=x onerror=alert(1)> \'><svg onload=alert(2)>'


async def load_units(console: Console) -> None:
    from bot.intake.units_csv import parse_units_csv

    parsed = parse_units_csv(UNITS.encode())
    await console.db.run(replace_units, units=parsed.units, communes=parsed.communes, now=datetime.now(UTC))


def slots(**extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"contact_channel": "call", "caller_number": "0912345678", "pretext": "update_records",
                            "asked": ["otp", "bank_account"], "money_lost": "no", "commune": "Tân Thành",
                            "message_text": "Cô chủ nhiệm bảo cài ứng dụng Sổ liên lạc điện tử tại vneduconnect.com"}
    base.update(extra)
    return base


async def file_tip(console: Console, n: int, *, number: str = "+84912345678", domain: str | None = None,
                   kind: str = "report", urgent: bool = False, image: bytes | None = None,
                   when: datetime | None = None, **extra: Any) -> str:
    """File tip number ``n`` (its own reporter) naming ``number`` (and ``domain``); returns its reference."""
    attachments: list[Attachment] = []
    if image is not None:
        attachments.append(store_attachment(console.tmp_path / "data", image, cipher=console.cipher))
    indicators = [Indicator("phone", number)] + ([Indicator("domain", domain)] if domain else [])
    data = {"slots": slots(**extra), "locale": "vi", "consent": {"contact": True}}

    def work(conn: sa.Connection) -> str:
        return create_tip(conn, key=ConversationKey("api", f"parent-{n}"), user_id=f"parent-{n}", urgent=urgent,
                          data=data, attachments=attachments, indicators=indicators, sinks=["console"],
                          prefix="TG", now=when or datetime.now(UTC), cipher=console.cipher, kind=kind,
                          targets=CaseTargets())

    return await console.db.run(work)
