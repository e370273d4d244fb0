"""When it happened (handlers/when.py): the clock a parent speaks by, tested at fixed moments."""

from __future__ import annotations

from datetime import datetime

import pytest

from handlers.when import VN_TZ, NoTime, read_when

FRIDAY = datetime(2026, 11, 20, 15, 30, tzinfo=VN_TZ)
JUST_AFTER_MIDNIGHT = datetime(2026, 11, 21, 0, 20, tzinfo=VN_TZ)
MORNING = datetime(2026, 11, 21, 7, 0, tzinfo=VN_TZ)


@pytest.mark.parametrize(("said", "now", "meant"), [
    ("chiều qua tầm 3h", FRIDAY, "2026-11-19T15:00"),
    ("sáng thứ hai", FRIDAY, "2026-11-16T09:00"),
    ("thứ sáu tuần trước", FRIDAY, "2026-11-13T00:00"),
    ("cách đây 2 tiếng", FRIDAY, "2026-11-20T13:30"),
    ("tầm 8 rưỡi sáng nay", FRIDAY, "2026-11-20T08:30"),
    ("tôi bị gọi lúc 9h", FRIDAY, "2026-11-20T09:00"),  # "tôi" is "I", not "tối" (evening)
    ("sáng nay, à không, chiều qua", FRIDAY, "2026-11-19T15:00"),
    ("hôm nay 9h", JUST_AFTER_MIDNIGHT, "2026-11-20T09:00"),  # the day that just ended is still "today"
    ("9h", MORNING, "2026-11-20T09:00"),
])
def test_a_time_is_read_as_the_parent_meant_it(said: str, now: datetime, meant: str) -> None:
    assert read_when(said, now).isoformat().startswith(meant)


def test_today_later_than_now_is_refused_once_the_day_has_begun() -> None:
    with pytest.raises(NoTime) as caught:
        read_when("hôm nay 9h", MORNING)
    assert caught.value.future
