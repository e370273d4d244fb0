"""Dates and times in reports: "hôm nay 9h", "sáng nay", "hôm qua", "9h30", "15/11", "15/11/2026", "vừa xong".

Values are ISO 8601 in Vietnam time (+07:00), resolved against ``now``. A scam report talks about the past, so
a bare day such as "15/11" that would fall in the future means last year's. A part of the day without a clock
time ("sáng nay") resolves to a representative hour; a day without a time to midnight, as Duckling does.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone

from nlu.textview import FoldedText

VN_TZ = timezone(timedelta(hours=7))

_PART_HOUR = {"sang": 8, "trua": 12, "chieu": 15, "toi": 19, "dem": 22}
_DAY_OFFSET = {"nay": 0, "hom nay": 0, "qua": -1, "hom qua": -1, "hom kia": -2, "bua nay": 0, "bua qua": -1}

_PART = r"(?P<part>sang|trua|chieu|toi|dem)"
# "hôm qua", "sáng nay", "chiều hôm qua", "tối qua" — a day word, optionally after a part of the day.
_DAY = re.compile(rf"\b(?:{_PART}\s+)?(?P<day>hom nay|hom qua|hom kia|bua nay|bua qua|nay|qua)\b")
# "9h", "9h30", "9 giờ 30", "9:30", "9 giờ sáng", "2h chiều".
_CLOCK = re.compile(
    r"(?<![\w:/.,])(?P<h>[01]?\d|2[0-3])\s?(?:h|gio|:)\s?(?P<m>[0-5]\d)?(?:\s?(?:p|phut))?(?![\w:])"
    r"(?:\s+(?P<cpart>sang|trua|chieu|toi|dem))?"
)
# "15/11", "15/11/2026", "1.2.2026", "15-11-2026"; a dot or dash needs the year ("8.5" is a grade).
_DATE = re.compile(
    r"(?<![\w/.,])(?P<d>[0-3]?\d)(?:/(?P<mo>[01]?\d)(?:/(?P<y>\d{4}|\d{2}))?"
    r"|(?P<sep>[.-])(?P<mo2>[01]?\d)(?P=sep)(?P<y2>\d{4}))(?![\w/]|[.,]\d)"
)
_JUST_NOW = re.compile(r"\b(?:vua xong|vua nay|vua moi|luc nay|ban nay|moi day|just now)\b")
# Folded "toi"/"dem"/"sang" are also "tôi" (I), "đem" (bring), "sang" (over): "tôi qua trường" is no date.
_HOMOGRAPHS = {"toi": "tối", "dem": "đêm", "sang": "sáng"}
_CLEAR_AFTER = re.compile(r"\s*(?:$|[^\w\s]|\d|luc\b|khoang\b|tam\b|co\b|vao\b)")
_NOT_A_DATE_BEFORE = re.compile(r"(?:lop|phong|so|nha|hem|ngo|kiet)\s*$")  # "lớp 6/2" is a class, not June


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=VN_TZ)


def _twelve_hour(hour: int, part: str | None) -> int:
    if part in ("chieu", "toi", "dem") and hour < 12:
        return hour + 12 if not (part == "dem" and hour < 5) else hour
    return hour


def _is_time_word(view: FoldedText, m: re.Match[str]) -> bool:
    """Whether a "tối qua"/"đêm qua"/"sáng nay" match is really a time, judged on the original spelling."""
    part = m.group("part")
    if part not in _HOMOGRAPHS:
        return True
    s, e = view.span(m.start("part"), m.end("part"))
    written = view.text[s:e].lower()
    if written != part:  # typed with diacritics: they settle it
        return unicodedata.normalize("NFC", written) == _HOMOGRAPHS[part]
    if view.text.lower() != view.folded:  # a parent who types diacritics elsewhere meant the plain word here
        return False
    return _CLEAR_AFTER.match(view.folded, m.end()) is not None


def find_datetimes(view: FoldedText, now: datetime | None = None) -> Iterator[tuple[int, int, str]]:
    """Yield folded-text ``(start, end, iso_value)`` for each date/time expression in ``view``.

    A day word next to a clock time ("hôm qua lúc 9h", "9h sáng nay") becomes one entity.
    """
    folded = view.folded
    now = (now or datetime.now(VN_TZ)).astimezone(VN_TZ)
    today = now.date()
    days: list[tuple[int, int, date, str | None]] = []
    for m in _DAY.finditer(folded):
        word = m.group("day")
        if word in ("nay", "qua") and m.group("part") is None:
            continue  # bare "nay"/"qua" are everyday words ("qua link", "nay con"): need "sáng nay" etc.
        if not _is_time_word(view, m):
            continue
        days.append((m.start(), m.end(), today + timedelta(days=_DAY_OFFSET[word]), m.group("part")))
    for m in _DATE.finditer(folded):
        if _NOT_A_DATE_BEFORE.search(folded[: m.start()]):
            continue
        d, mo = int(m.group("d")), int(m.group("mo") or m.group("mo2"))
        y = m.group("y") or m.group("y2")
        year = (int(y) + 2000 if len(y) == 2 else int(y)) if y else today.year
        try:
            day = date(year, mo, d)
        except ValueError:
            continue
        if not y and day > today:
            day = date(year - 1, mo, d) if (mo, d) != (2, 29) else day
        days.append((m.start(), m.end(), day, None))
    clocks = list(_CLOCK.finditer(folded))
    used: set[int] = set()
    for c in clocks:
        # Pair a clock with a day expression within a few characters on either side ("hôm qua lúc 9h").
        near = next(
            (i for i, (s, e, _, _) in enumerate(days) if i not in used and c.start() <= e + 6 and s <= c.end() + 6),
            None,
        )
        part = c.group("cpart")
        hour_min = (int(c.group("h")), int(c.group("m") or 0))
        if near is None:
            yield c.start(), c.end(), _at(today, _twelve_hour(hour_min[0], part), hour_min[1]).isoformat()
            continue
        used.add(near)
        s, e, day, day_part = days[near]
        hour = _twelve_hour(hour_min[0], part or day_part)
        yield min(s, c.start()), max(e, c.end()), _at(day, hour, hour_min[1]).isoformat()
    for i, (s, e, day, part) in enumerate(days):
        if i not in used:
            yield s, e, _at(day, _PART_HOUR[part] if part else 0).isoformat()
    for m in _JUST_NOW.finditer(folded):
        yield m.start(), m.end(), now.replace(second=0, microsecond=0).isoformat()
