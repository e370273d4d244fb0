"""The seam between the dialogue and the check engine.

A flow's ``check`` step hands the conversation's slots to a :class:`Checker` and shows what it returns.
The engine knows nothing about directories or blocklists; the checker knows nothing about flows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import sqlalchemy as sa

from handlers.messages import OutboundMessage


@dataclass(frozen=True, slots=True)
class CheckOutcome:
    """What a check step shows and remembers.

    ``messages`` are shown to the parent; ``result`` (JSON-serialisable) is stored in the slot named by the
    step, so a later report can carry the verdict and its reasons.
    """

    verdict: str
    messages: tuple[OutboundMessage, ...]
    result: Mapping[str, Any] = field(default_factory=dict)


class Checker(Protocol):
    """Runs one named check (``call`` or ``link``) over a conversation's slots."""

    def run(
        self, conn: sa.Connection, *, kind: str, slots: Mapping[str, Any], locale: str
    ) -> CheckOutcome:
        """Check without any network access. ``conn`` is the conversation's open transaction (read only).

        Synchronous: it runs inside the turn's unit of work (see ``storage.db.Database.run``).
        """
        ...


ASK_CODES_HIGH = ("otp", "bank_account", "money_transfer", "install_app")


class AsksChecker:
    """The rule every check starts from: a school never asks for an OTP, bank details, money or an app.

    Used where no directory-backed checker is wired in (and as the reference the full engine must agree
    with on these reason codes).
    """

    def run(
        self, conn: sa.Connection, *, kind: str, slots: Mapping[str, Any], locale: str
    ) -> CheckOutcome:
        asked = [a for a in slots.get("asked") or [] if a in ASK_CODES_HIGH]
        if asked:
            text = {"vi": "🚫 Đây là LỪA ĐẢO: nhà trường không bao giờ yêu cầu mã OTP, tài khoản ngân hàng, "
                          "chuyển tiền hay cài ứng dụng qua điện thoại.",
                    "en": "🚫 This is a SCAM: schools never ask for OTPs, bank details, money or app installs."}
            return CheckOutcome("scam", (OutboundMessage(text.get(locale, text["vi"])),),
                                {"verdict": "scam", "reasons": [{"code": f"asks_{a}"} for a in asked]})
        text = {"vi": "Chưa thấy dấu hiệu lừa đảo rõ ràng. Khi nghi ngờ, hãy gọi lại số chính thức của trường.",
                "en": "No clear red flags. When in doubt, call the school back on its official number."}
        return CheckOutcome("no_red_flags", (OutboundMessage(text.get(locale, text["vi"])),),
                            {"verdict": "no_red_flags", "reasons": []})
