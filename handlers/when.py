"""When it happened, as a parent answers "Việc này xảy ra lúc nào?" — into an ISO 8601 moment (+07:00).

"hôm nay 9h", "chiều qua tầm 3h", "hqua 3h chieu", "sáng thứ hai", "cách đây 2 tiếng", "30 phút trước",
"tầm 8 rưỡi sáng nay", "15/11 lúc 14h", "vừa xong"; "sáng nay, à không, chiều qua" takes the correction.
A part of the day without a clock time resolves to a representative hour, a day without one to midnight.
"tối", "sáng", "đêm" fold to "tôi" (I), "sang" (over), "đem" (bring): typed without diacritics they count only
next to another time word ("tối qua", "9h tối").
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta, timezone

from nlu.negation import corrected
from nlu.normalize import normalize

VN_TZ = timezone(timedelta(hours=7), "ICT")  # Viet Nam has no daylight saving time


class NoTime(ValueError):
    """Nothing in the text says when; ``future`` when it names a time that has not come yet."""

    def __init__(self, future: bool = False) -> None:
        super().__init__("future" if future else "none")
        self.future = future


_TIME = re.compile(r"\b([01]?\d|2[0-3])\s*(?:h|g|gio|:)\s*([0-5]\d)?(?:\s*(?:p|phut))?\b")
_HALF = re.compile(r"\b([01]?\d|2[0-3])\s*(?:h|gio)?\s*ruoi\b")
_DATE = re.compile(r"\b([0-3]?\d)[/.-]([01]?\d)(?:[/.-](\d{2,4}))?\b")
_AGO = re.compile(r"\bcach day\s+(\d+|mot|hai|ba|nua)\s*(tieng|gio|phut|ngay|hom)\b"
                  r"|\b(\d+|mot|hai|ba|nua)\s*(tieng|gio|phut|ngay|hom)\s+truoc\b")
_JUST_NOW = re.compile(r"\b(?:vua xong|vua nay|luc nay|ban nay|just now|moi day|vua moi|nay gio)\b")
_YESTERDAY = re.compile(r"\b(?:hom qua|bua qua|yesterday|(?:sang|trua|chieu|toi|dem) qua)\b")
_DAY_BEFORE = re.compile(r"\bhom kia\b")
_TODAY = re.compile(r"\b(?:hom nay|bua nay|today|(?:sang|trua|chieu|toi|dem) nay)\b")
_WEEKDAY = re.compile(r"\b(?:thu\s+(hai|ba|tu|nam|sau|bay|[2-7])|(chu nhat|cn))\b(\s+tuan (?:truoc|roi))?")
_WEEKDAY_INDEX = {"hai": 0, "ba": 1, "tu": 2, "nam": 3, "sau": 4, "bay": 5}
_PARTS = {"sang": 9, "trua": 12, "chieu": 15, "toi": 19, "dem": 22}
_WRITTEN = {"sang": "sáng", "toi": "tối", "dem": "đêm"}
_NEAR_TIME = re.compile(r"^\s*(?:nay|qua|hom|som|khoang|tam|luc|thu|muon|\d)|\d\s*(?:h|gio|ruoi)?\s*$")
_NUMBER_WORDS = {"mot": 1, "hai": 2, "ba": 3, "nua": 0.5}
_NEW_DAY_HOUR = 4  # before 04:00 "hôm nay" may still mean the day that just ended
_MARKER = re.compile(r"\b(?:a khong|a nham|nham|y (?:toi |minh |em )?la)\b")


def _part(norm: str, text: str) -> str | None:
    """The part of the day named, judged on the spelling where folding merges words."""
    plain = unicodedata.normalize("NFC", text).lower()
    for part in _PARTS:
        for m in re.finditer(rf"\b{part}\b", norm):
            if part not in _WRITTEN:
                return part
            if not plain.isascii():
                if re.search(rf"(?<!\w){_WRITTEN[part]}(?!\w)", plain):
                    return part
                continue
            if _NEAR_TIME.match(norm[m.end():]) or _NEAR_TIME.search(norm[: m.start()]):
                return part
    return None


def _amount(word: str) -> float:
    return float(word) if word.isdigit() else _NUMBER_WORDS[word]


def _read(norm: str, text: str, now: datetime) -> datetime:
    if _JUST_NOW.search(norm):
        return now.replace(second=0, microsecond=0)
    ago = _AGO.search(norm)
    if ago:
        n, unit = (ago.group(1), ago.group(2)) if ago.group(1) else (ago.group(3), ago.group(4))
        minutes = {"tieng": 60, "gio": 60, "phut": 1, "ngay": 1440, "hom": 1440}[unit] * _amount(n)
        return (now - timedelta(minutes=minutes)).replace(second=0, microsecond=0)
    day, known, today_said = now.date(), False, False
    if _YESTERDAY.search(norm):
        day, known = day - timedelta(days=1), True
    elif _DAY_BEFORE.search(norm):
        day, known = day - timedelta(days=2), True
    elif _TODAY.search(norm):
        known = today_said = True
    wd = _WEEKDAY.search(norm)
    if wd and not known:
        index = 6 if wd.group(2) else _WEEKDAY_INDEX.get(wd.group(1))
        index = int(wd.group(1)) - 2 if index is None else index
        day = day - timedelta(days=(day.weekday() - index) % 7 + (7 if wd.group(3) else 0))
        known = True
    dm = _DATE.search(norm)
    if dm:
        d, mo = int(dm.group(1)), int(dm.group(2))
        y = int(dm.group(3)) if dm.group(3) else now.year
        y = y + 2000 if y < 100 else y
        try:
            day = date(y, mo, d)
        except ValueError:
            raise NoTime() from None
        known = True
    hour, minute = None, 0
    rest = _DATE.sub(" ", norm)
    half = _HALF.search(rest)
    tm = _TIME.search(rest)
    if half and (not tm or half.start() <= tm.start()):
        hour, minute = int(half.group(1)), 30
    elif tm:
        hour, minute = int(tm.group(1)), int(tm.group(2) or 0)
    part = _part(norm, text)
    if part is not None:
        known = True
        if hour is None:
            hour = _PARTS[part]
        elif (part in ("chieu", "toi") and hour < 12) or (part == "dem" and 5 <= hour < 12):
            hour += 12
    if not known and hour is None:
        raise NoTime()
    moment = datetime(day.year, day.month, day.day, hour if hour is not None else 0, minute, tzinfo=VN_TZ)
    if moment > now + timedelta(minutes=5):
        # "9h" said at 8:00 means yesterday 9:00; so does "hôm nay 9h" said at half past midnight, when the day
        # that just ended is still "today" to someone who has not slept.
        if dm or wd or (today_said and now.hour >= _NEW_DAY_HOUR):
            raise NoTime(future=True)
        moment -= timedelta(days=1)
    return moment


def read_when(text: str, now: datetime | None = None) -> datetime:
    """The moment ``text`` names; :class:`NoTime` when it names none (or one in the future)."""
    now = (now or datetime.now(VN_TZ)).astimezone(VN_TZ)
    norm = normalize(text)
    if corrected(norm):
        marks = list(_MARKER.finditer(norm))
        if marks:
            try:
                return _read(norm[marks[-1].end():], text, now)
            except NoTime:
                pass
    return _read(norm, text, now)
