"""Zalo OA API error codes, by what we do about them.

The codes and their meanings are Zalo's published OA API error table (developers.zalo.me/docs/official-account,
"Mã lỗi"), as used by open-source integrations (chatwoot's ZaloOa::MessageSender, which treats
-213/-217/-227/-230/-232/-234/-244 as "outside what the parent allows" and -32 as "retry later"):

- -216 access token invalid, -220 access token expired or removed, -124 (older API) expired → refresh the
  token and retry once;
- -213 the user does not follow the OA, -217 blocked the OA's invitation, -244 restricted this message type →
  the parent chose not to hear from us: :attr:`FailureReason.BLOCKED`;
- -230 no interaction in the last 7 days, -232 no interaction yet / it expired, -218 the OA's quota for this
  user is used up → only the parent writing again opens the window: :attr:`FailureReason.OUT_OF_WINDOW`;
- -227 the user is banned or inactive for over 45 days → :attr:`FailureReason.INVALID_RECIPIENT`;
- -32 the app reached its API call limit, -211 out of quota → back off: :attr:`FailureReason.RATE_LIMITED`;
- -201 a parameter is invalid, -210 a parameter is over its limit, -233 this message type is invalid or not
  supported → a buttons message is sent again as numbered text; anything else is malformed for good;
- -234 message types not allowed at night (22:00–06:00) → wait until the morning;
- -200 send failed (Zalo's side) and unknown server trouble → retry later; other codes (app disabled -219,
  OA disabled -204/-205, permission missing -212/-223, OA tier -224, …) will not heal by retrying.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from bot.channels.base import FailureReason

TOKEN_CODES = frozenset({-216, -220, -124})
BLOCKED_CODES = frozenset({-213, -217, -244})
WINDOW_CODES = frozenset({-230, -232, -218})
INVALID_RECIPIENT_CODES = frozenset({-227})
RATE_CODES = {-32: 60.0, -211: 600.0}  # code → seconds to wait (-32 is a per-minute limit; quota is slower)
REWRITE_CODES = frozenset({-201, -210, -233})
NIGHT_CODE = -234
TRANSIENT_CODES = frozenset({-200})
VN_TIME = timezone(timedelta(hours=7))


@dataclass(frozen=True, slots=True)
class Meaning:
    """What a Zalo answer means for the call that got it."""

    kind: str  # ok | token | rewrite | fail
    reason: FailureReason | None = None
    retry_after: float | None = None


OK = Meaning("ok")


def _until_morning(now: datetime) -> float:
    local = now.astimezone(VN_TIME)
    morning = local.replace(hour=6, minute=5, second=0, microsecond=0)
    if local >= morning:
        morning += timedelta(days=1)
    return (morning - local).total_seconds()


def meaning_of(code: int, *, now: datetime | None = None) -> Meaning:
    if code == 0:
        return OK
    if code in TOKEN_CODES:
        return Meaning("token")
    if code in REWRITE_CODES:
        return Meaning("rewrite", FailureReason.PERMANENT)
    if code in BLOCKED_CODES:
        return Meaning("fail", FailureReason.BLOCKED)
    if code in WINDOW_CODES:
        return Meaning("fail", FailureReason.OUT_OF_WINDOW)
    if code in INVALID_RECIPIENT_CODES:
        return Meaning("fail", FailureReason.INVALID_RECIPIENT)
    if code in RATE_CODES:
        return Meaning("fail", FailureReason.RATE_LIMITED, RATE_CODES[code])
    if code == NIGHT_CODE:
        return Meaning("fail", FailureReason.RATE_LIMITED, _until_morning(now or datetime.now(UTC)))
    if code in TRANSIENT_CODES:
        return Meaning("fail", FailureReason.TRANSIENT)
    return Meaning("fail", FailureReason.PERMANENT)
