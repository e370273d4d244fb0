"""The dashboard's figures on SQLite and PostgreSQL alike: local days, daily counts kept at filing equal to a
recount, facets, handling times, top numbers, and the monthly report built from them."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from bot.reports import build_report, render_docx
from storage import stats
from storage.alerts_schema import stats_daily
from storage.db import Database
from storage.workflow import SYSTEM, Viewer
from storage.workflow_schema import tip_cases
from tests.chat import TEST_CIPHER
from tests.dashboard.month import CAMPAIGN_NUMBER, chunks, file_specs, generate, load_units


@pytest.mark.slow  # ~3 s: a month of tips
async def test_figures_match_the_month_on_both_databases(database: Database) -> None:
    month = generate(background=900)
    await database.run(load_units)
    for part in chunks(month.specs, 300):
        await database.run(file_specs, specs=part, cipher=TEST_CIPHER)
    # Two tips handled: one closed after 90 minutes, one first touched after 10.
    first, second = month.specs[0], month.specs[1]

    def handle(conn: sa.Connection) -> None:
        ids = conn.execute(sa.select(tip_cases.c.tip_id).order_by(tip_cases.c.tip_id).limit(2)).scalars().all()
        conn.execute(sa.update(tip_cases).where(tip_cases.c.tip_id == ids[0]).values(
            closed_at=first.when + timedelta(minutes=90), close_seconds=90 * 60, outcome="confirmed_scam",
            status="closed", is_open=False))
        conn.execute(sa.update(tip_cases).where(tip_cases.c.tip_id == ids[1]).values(
            first_action_at=second.when + timedelta(minutes=10), first_action_seconds=600))

    await database.run(handle)
    period = stats.Period.local_days(date(2026, 11, 1), date(2026, 11, 30))
    data = await database.run(stats.dashboard, viewer=SYSTEM, period=period, cipher=TEST_CIPHER)
    specs = month.specs
    assert data["totals"]["tips"] == len(specs)
    assert data["totals"]["money_lost_vnd"] == sum(s.money_vnd or 0 for s in specs)
    days = Counter(s.local_day.isoformat() for s in specs)
    assert {d["day"]: d["tips"] for d in data["per_day"] if d["tips"]} == dict(days)
    assert {r["code"]: r["tips"] for r in data["by_pretext"]} == dict(Counter(s.pretext for s in specs))
    assert {r["code"]: r["tips"] for r in data["by_outcome"]} == {"confirmed_scam": 1, None: len(specs) - 1}
    close = {b["bucket"]: b["tips"] for b in data["time_to_close"]["buckets"]}
    assert close["1h-4h"] == 1 and data["time_to_close"]["mean_minutes"] == 90.0
    assert data["time_to_close"]["waiting"] == len(specs) - 1
    assert data["first_action"]["median_bucket"] == "<15m" and data["first_action"]["count"] == 1
    top = data["top"]["phone"][0]
    assert (top["value"], top["tips"], top["reporters"]) == (CAMPAIGN_NUMBER, 11, 11)
    officer = Viewer.officer(3, "officer", "CA-TL")
    mine = await database.run(stats.dashboard, viewer=officer, period=period, cipher=TEST_CIPHER)
    assert mine["totals"]["tips"] == sum(s.unit == "CA-TL" for s in specs)
    assert {r["code"] for r in mine["by_unit"]} == {"CA-TL"}
    kept = await database.run(lambda c: sorted(tuple(r) for r in c.execute(sa.select(stats_daily))))
    await database.run(stats.rebuild_daily)
    assert await database.run(lambda c: sorted(tuple(r) for r in c.execute(sa.select(stats_daily)))) == kept
    report = await database.run(build_report, year=2026, month=11, cipher=TEST_CIPHER, province="Tỉnh Cà Mau",
                                police_name="Công an tỉnh Cà Mau")
    assert report.summary[0].current == len(specs) and report.summary[0].previous == 0
    assert {r.label: r.current for r in report.outcomes} == {"Xác nhận lừa đảo": 1}
    assert render_docx(report).startswith(b"PK")


async def test_the_page_reads_its_parts_at_once_and_gets_the_same_figures(database: Database) -> None:
    """The console reads the dashboard's parts concurrently (Database.read: reader threads on SQLite, pooled
    connections on PostgreSQL); the figures are those of the one-transaction :func:`stats.dashboard`."""
    month = generate(background=300)
    await database.run(load_units)
    for part in chunks(month.specs, 300):
        await database.run(file_specs, specs=part, cipher=TEST_CIPHER)
    period = stats.Period.local_days(date(2026, 11, 1), date(2026, 11, 30))
    one = await database.run(stats.dashboard, viewer=SYSTEM, period=period, cipher=TEST_CIPHER)
    many = await stats.dashboard_concurrently(database.read, viewer=SYSTEM, period=period, cipher=TEST_CIPHER)
    assert many == one and list(many) == list(one)
    assert many["totals"]["tips"] == len(month.specs) and many["top"]["phone"]


async def test_reads_cannot_write(database: Database) -> None:
    def write(conn: sa.Connection) -> None:
        conn.execute(sa.delete(stats_daily))

    if database.sqlite:  # PostgreSQL's read connections are the pool's: the rule is the callers'
        with pytest.raises(sa.exc.OperationalError, match="readonly"):
            await database.read(write)
