"""The tip workflow against real databases: cases, visibility, queue filters and paging, search without
decryption, status changes with history and audit, assignment and idle release, notes, blocklisting,
referrals, moderation of crowd counts, and retention of closed and never-closed tips."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from bot.intake.units_csv import parse_units_csv
from handlers.checks import CheckRequest, check
from handlers.search import query_terms
from storage import audit, tip_links, workflow
from storage import queue as q
from storage.db import Database
from storage.keys import ConversationKey
from storage.reference import report_counts
from storage.retention import run_retention
from storage.schema import tip_indicators
from storage.tips import Indicator, create_tip
from storage.units import replace_units
from storage.workflow import Viewer, WorkflowError
from storage.workflow_schema import tip_cases, tip_events, tip_notes, tip_terms
from tests.chat import TEST_CIPHER

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
UNITS = """unit_id,name,province_code,commune_code,commune_name
CA-96,Công an tỉnh Cà Mau,96,,
CA-TT,Công an phường Tân Thành,96,31993,Phường Tân Thành
CA-TL,Công an xã Tân Lộc,96,32014,Xã Tân Lộc
"""
OFFICER_TT = Viewer.officer(1, "officer", "CA-TT")
OFFICER_TL = Viewer.officer(2, "officer", "CA-TL")
SUPERVISOR = Viewer.officer(3, "supervisor", None)
ADMIN = Viewer.officer(4, "admin", None)


def slots(**extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"contact_channel": "call", "caller_number": "0912345678", "pretext": "update_records",
                            "asked": ["otp", "bank_account"], "money_lost": "no", "commune": "Tân Thành",
                            "message_text": "Phụ huynh cài ứng dụng Sổ liên lạc điện tử tại vneduconnect.com"}
    base.update(extra)
    return base


def file_tip(conn: sa.Connection, n: int, *, when: datetime = NOW, indicators: list[Indicator] | None = None,
             urgent: bool = False, kind: str = "report", origin: str | None = None, **extra: Any) -> str:
    data = {"slots": slots(**extra), "locale": "vi", "consent": {"contact": False}}
    return create_tip(conn, key=ConversationKey("api", f"parent-{n}"), user_id=f"parent-{n}", urgent=urgent, data=data,
                      attachments=[], indicators=indicators or [Indicator("phone", "+84912345678")],
                      sinks=["console"], prefix="TG", now=when, cipher=TEST_CIPHER, kind=kind, origin=origin)


@pytest.fixture
async def db(database: Database) -> Database:
    parsed = parse_units_csv(UNITS.encode())
    await database.run(replace_units, units=parsed.units, communes=parsed.communes, now=NOW)
    return database


def tip_id(conn: sa.Connection, reference: str) -> int:
    return int(conn.execute(sa.select(tip_cases.c.tip_id).where(tip_cases.c.reference == reference)).scalar_one())


def page(conn: sa.Connection, viewer: Viewer, **filters: Any) -> list[str]:
    result = q.queue(conn, viewer=viewer, filters=q.QueueFilter(**filters), limit=200, cipher=TEST_CIPHER)
    return [r.reference for r in result.rows]


async def test_a_filed_tip_opens_its_case_routed_with_plain_facets(db: Database) -> None:
    def work(conn: sa.Connection) -> workflow.CaseRow | None:
        ref = file_tip(conn, 1, money_lost="yes", amount=5_000_000, shared=["otp"])
        return workflow.case_of(conn, viewer=SUPERVISOR, reference=ref)

    case = await db.run(work)
    assert case is not None
    assert (case.status, case.kind, case.unit_id, case.commune_code) == ("new", "report", "CA-TT", "31993")
    assert (case.pretext, case.money_lost, case.amount_vnd, case.priority) == ("update_records", True, 5_000_000, 2)
    assert case.first_action_due is not None
    assert case.first_action_due.replace(tzinfo=UTC) == NOW + timedelta(minutes=15)
    assert case.first_action(NOW + timedelta(minutes=16)) == "missed" and case.first_action(NOW) == "pending"


async def test_officer_sees_own_unit_only_and_another_units_tip_is_not_found(db: Database) -> None:
    def work(conn: sa.Connection) -> None:
        mine = file_tip(conn, 1)
        theirs = file_tip(conn, 2, commune="xa tan loc")
        unrouted = file_tip(conn, 3, commune="Không rõ ở đâu")
        assert page(conn, OFFICER_TT) == [mine]
        assert page(conn, OFFICER_TL) == [theirs]
        assert set(page(conn, SUPERVISOR)) == {mine, theirs, unrouted}
        assert page(conn, ADMIN) == []  # admins manage users and content, not tips
        assert workflow.case_of(conn, viewer=OFFICER_TT, reference=theirs) is None
        assert workflow.open_tip(conn, viewer=OFFICER_TT, reference=theirs, cipher=TEST_CIPHER, now=NOW) is None
        with pytest.raises(WorkflowError):
            workflow.set_status(conn, viewer=OFFICER_TT, tip_id=tip_id(conn, theirs), status="in_review", now=NOW)

    await db.run(work)


async def test_filters_and_search_without_decrypting(db: Database) -> None:
    def work(conn: sa.Connection) -> None:
        a = file_tip(conn, 1, indicators=[Indicator("phone", "+84912345678"), Indicator("domain", "vneduconnect.com")])
        b = file_tip(conn, 2, asked=["install_app"], pretext="install_app", money_lost="yes",
                     indicators=[Indicator("phone", "+84388000111"), Indicator("bank_account", "0071000123456")],
                     message_text="Con đang cấp cứu, chuyển tiền gấp")
        assert page(conn, SUPERVISOR, asked="otp") == [a]
        assert page(conn, SUPERVISOR, asked="install_app", money_lost=True) == [b]
        assert page(conn, SUPERVISOR, pretext="update_records") == [a]
        for text, expected in [("0912 345 678", [a]), ("+84 388 000 111", [b]), ("vneduconnect.com", [a]),
                               ("0071000123456", [b]), ("cap cuu", [b]), ("cấp cứu chuyển tiền", [b]),
                               ("sổ liên lạc", [a]), ("không có từ này", [])]:
            query = query_terms(text)
            assert page(conn, SUPERVISOR, terms=query.terms) == expected, text
        assert page(conn, SUPERVISOR, reference=b.lower()) == [b]
        # What is searched are keyed hashes: no word of the message is stored in clear.
        stored = {t for (t,) in conn.execute(sa.select(tip_terms.c.term))}
        assert stored and all(len(t) == 64 and "cuu" not in t for t in stored)

    await db.run(work)


@pytest.mark.parametrize("sort", list(q.SORTS))
async def test_keyset_paging_visits_every_tip_once_in_order(db: Database, sort: str) -> None:
    def work(conn: sa.Connection) -> None:
        refs = [file_tip(conn, i, when=NOW + timedelta(minutes=i % 4), urgent=i % 3 == 0) for i in range(11)]
        seen: list[str] = []
        cursor = None
        while True:
            result = q.queue(conn, viewer=SUPERVISOR, filters=q.QueueFilter(sort=sort), cursor=cursor, limit=4,
                             cipher=TEST_CIPHER)
            seen += [r.reference for r in result.rows]
            cursor = result.next_cursor
            if cursor is None:
                break
        assert sorted(seen) == sorted(refs) and len(seen) == len(set(seen))
        assert seen == page(conn, SUPERVISOR, sort=sort)

    await db.run(work)


async def test_bad_cursor_and_sort_are_clear_errors(db: Database) -> None:
    def work(conn: sa.Connection) -> None:
        with pytest.raises(q.QueryError):
            q.queue(conn, viewer=SUPERVISOR, filters=q.QueueFilter(), cursor="bm9wZQ", cipher=TEST_CIPHER)
        with pytest.raises(q.QueryError):
            q.queue(conn, viewer=SUPERVISOR, filters=q.QueueFilter(sort="random"), cipher=TEST_CIPHER)

    await db.run(work)


async def test_whole_workflow_with_history_and_audit(db: Database) -> None:
    def work(conn: sa.Connection) -> None:
        ref = file_tip(conn, 1, urgent=True)
        tid = tip_id(conn, ref)
        case = workflow.assign(conn, viewer=OFFICER_TT, tip_id=tid, assignee_id=1, now=NOW, ip="10.1.1.1")
        assert (case.status, case.assignee_id, case.first_action_at is not None) == ("in_review", 1, True)
        assert case.first_action(NOW) == "met"
        with pytest.raises(WorkflowError):
            workflow.assign(conn, viewer=OFFICER_TT, tip_id=tid, assignee_id=99, now=NOW)
        workflow.set_status(conn, viewer=OFFICER_TT, tip_id=tid, status="investigating", now=NOW)
        with pytest.raises(WorkflowError, match="outcome"):
            workflow.set_status(conn, viewer=OFFICER_TT, tip_id=tid, status="closed", now=NOW)
        closed = workflow.set_status(conn, viewer=OFFICER_TT, tip_id=tid, status="closed", outcome="confirmed_scam",
                                     now=NOW)
        assert (closed.status, closed.outcome, closed.is_open) == ("closed", "confirmed_scam", False)
        assert page(conn, OFFICER_TT) == [] and page(conn, OFFICER_TT, status=("closed",)) == [ref]
        reopened = workflow.set_status(conn, viewer=OFFICER_TT, tip_id=tid, status="in_review", now=NOW)
        assert (reopened.status, reopened.outcome, reopened.closed_at) == ("in_review", None, None)
        workflow.add_note(conn, viewer=OFFICER_TT, tip_id=tid, body="Đã gọi cho nhà mạng", cipher=TEST_CIPHER, now=NOW)
        assert [n.body for n in workflow.notes(conn, tip_id=tid, cipher=TEST_CIPHER)] == ["Đã gọi cho nhà mạng"]
        raw = conn.execute(sa.select(tip_notes.c.body)).scalar_one()
        assert "nhà mạng" not in raw  # sealed
        actions = [e.action for e in workflow.events(conn, tip_id=tid)]
        assert actions == ["take", "status", "close", "reopen", "note"]
        logged = [e["action"] for e in audit.entries(conn, subject=ref)]
        assert logged[::-1] == ["tip.take", "tip.status", "tip.close", "tip.reopen", "tip.note"]
        assert "from 10.1.1.1" in audit.entries(conn, subject=ref)[-1]["detail"]
        view = workflow.open_tip(conn, viewer=OFFICER_TT, reference=ref, cipher=TEST_CIPHER, now=NOW, ip="10.1.1.1")
        assert view is not None and view.data["slots"]["pretext"] == "update_records"
        assert audit.entries(conn, subject=ref)[0]["action"] == "tip.view"

    await db.run(work)


async def test_handling_seconds_follow_the_workflow_and_feed_the_dashboard(db: Database) -> None:
    """The dashboard buckets by stored seconds (migration 0018): taking, closing and reopening keep them true."""
    from storage import stats

    def work(conn: sa.Connection) -> dict[str, Any]:
        tid = tip_id(conn, file_tip(conn, 1, urgent=True))
        workflow.assign(conn, viewer=OFFICER_TT, tip_id=tid, assignee_id=1, now=NOW + timedelta(minutes=7))
        workflow.set_status(conn, viewer=OFFICER_TT, tip_id=tid, status="closed", outcome="not_scam",
                            now=NOW + timedelta(hours=2))
        workflow.set_status(conn, viewer=OFFICER_TT, tip_id=tid, status="in_review", now=NOW + timedelta(hours=3))
        reopened = conn.execute(sa.select(tip_cases.c.first_action_seconds, tip_cases.c.close_seconds)
                                .where(tip_cases.c.tip_id == tid)).one()
        assert tuple(reopened) == (7 * 60, None)  # the first action stays; reopening undoes the close
        workflow.set_status(conn, viewer=OFFICER_TT, tip_id=tid, status="closed", outcome="confirmed_scam",
                            now=NOW + timedelta(hours=5))
        period = stats.Period.local_days(NOW.date() - timedelta(days=1), NOW.date() + timedelta(days=1))
        return stats.handling(conn, viewer=SUPERVISOR, period=period)

    figures = await db.run(work)
    first = {b["bucket"]: b["tips"] for b in figures["first_action"]["buckets"]}
    close = {b["bucket"]: b["tips"] for b in figures["time_to_close"]["buckets"]}
    assert first["<15m"] == 1 and figures["first_action"]["mean_minutes"] == 7.0
    assert close["4h-1d"] == 1 and figures["time_to_close"]["mean_minutes"] == 300.0
    assert figures["first_action_targets"]["met"] == 1


async def test_idle_officer_releases_the_tip(db: Database) -> None:
    def work(conn: sa.Connection) -> None:
        ref = file_tip(conn, 1)
        tid = tip_id(conn, ref)
        workflow.assign(conn, viewer=OFFICER_TT, tip_id=tid, assignee_id=1, now=NOW)
        assert workflow.release_idle(conn, now=NOW + timedelta(minutes=30), idle_minutes=120) == 0
        assert workflow.release_idle(conn, now=NOW + timedelta(minutes=121), idle_minutes=120) == 1
        assert page(conn, OFFICER_TT, assigned="none") == [ref]
        assert workflow.events(conn, tip_id=tid)[-1].action == "released"

    await db.run(work)


async def test_bulk_close_reports_refusals_by_reference(db: Database) -> None:
    def work(conn: sa.Connection) -> None:
        mine = [tip_id(conn, file_tip(conn, i)) for i in range(3)]
        theirs = tip_id(conn, file_tip(conn, 9, commune="Tân Lộc"))
        done, errors = workflow.bulk(conn, viewer=OFFICER_TT, tip_ids=[*mine, theirs], action="close",
                                     outcome="duplicate", now=NOW)
        assert done == 3 and len(errors) == 1 and errors[0].startswith("TG-2026-")
        assert page(conn, OFFICER_TT) == []

    await db.run(work)


async def test_not_a_scam_stops_reports_counting(db: Database) -> None:
    def work(conn: sa.Connection) -> None:
        refs = [file_tip(conn, i, indicators=[Indicator("phone", "+84388000999")]) for i in range(3)]
        assert report_counts(conn, phones=["+84388000999"], domains=[], cipher=TEST_CIPHER) == {
            ("phone", "+84388000999"): 3}
        for ref in refs[:2]:
            workflow.set_status(conn, viewer=SUPERVISOR, tip_id=tip_id(conn, ref), status="closed",
                                outcome="not_scam", now=NOW)
        assert report_counts(conn, phones=["+84388000999"], domains=[], cipher=TEST_CIPHER) == {
            ("phone", "+84388000999"): 1}

    await db.run(work)


async def test_many_identities_from_one_address_count_once(db: Database) -> None:
    def work(conn: sa.Connection) -> None:
        for i in range(5):
            file_tip(conn, 100 + i, indicators=[Indicator("phone", "+84388000777")], origin="203.0.113.7")
        file_tip(conn, 200, indicators=[Indicator("phone", "+84388000777")], origin="198.51.100.2")
        assert report_counts(conn, phones=["+84388000777"], domains=[], cipher=TEST_CIPHER) == {
            ("phone", "+84388000777"): 2}
        raw = {v for (v,) in conn.execute(sa.select(tip_indicators.c.origin_key))}
        assert "203.0.113.7" not in raw

    await db.run(work)


async def test_block_from_a_tip_warns_the_next_parent(db: Database) -> None:
    def work(conn: sa.Connection) -> None:
        ref = file_tip(conn, 1, indicators=[Indicator("phone", "+84388000555"), Indicator("domain", "sll-vnedu.top")])
        tid = tip_id(conn, ref)
        with pytest.raises(WorkflowError):
            tip_links.block_indicators(conn, viewer=OFFICER_TT, tip_id=tid, picks=[("phone", "+84999999999")], now=NOW,
                                       cipher=TEST_CIPHER)
        added = tip_links.block_indicators(conn, viewer=OFFICER_TT, tip_id=tid, now=NOW, cipher=TEST_CIPHER,
                                           picks=[("phone", "+84388000555"), ("domain", "sll-vnedu.top")])
        assert added == 2
        result = check(conn, CheckRequest(phone="0388 000 555"), cipher=TEST_CIPHER)
        assert "phone_blocklisted" in {r.code for r in result.reasons()} and result.verdict == "scam"
        entries = tip_links.cluster(conn, viewer=OFFICER_TT, tip_id=tid, cipher=TEST_CIPHER)
        assert {(e.kind, e.blocked) for e in entries} == {("phone", True), ("domain", True)}
        assert workflow.events(conn, tip_id=tid)[-1].action == "blocklist"

    await db.run(work)


async def test_cluster_and_referrals_are_shared_by_every_tip_naming_the_indicator(db: Database) -> None:
    def work(conn: sa.Connection) -> None:
        first = tip_id(conn, file_tip(conn, 1, indicators=[Indicator("bank_account", "0071000123456")]))
        second_ref = file_tip(conn, 2, indicators=[Indicator("bank_account", "0071000123456")])
        second = tip_id(conn, second_ref)
        other_unit = file_tip(conn, 3, commune="Tân Lộc", indicators=[Indicator("bank_account", "0071000123456")])
        with pytest.raises(WorkflowError):
            tip_links.add_referral(conn, viewer=OFFICER_TT, tip_id=first, kind="bank_account", value="0071000123456",
                                   target="telco", cipher=TEST_CIPHER, now=NOW)
        rid = tip_links.add_referral(conn, viewer=OFFICER_TT, tip_id=first, kind="bank_account",
                                     value="0071000123456", target="bank", cipher=TEST_CIPHER, now=NOW,
                                     note="Gửi Vietcombank CN Cà Mau")
        tip_links.update_referral(conn, viewer=OFFICER_TT, tip_id=second, referral_id=rid, status="done",
                                  cipher=TEST_CIPHER, now=NOW)
        (entry,) = tip_links.cluster(conn, viewer=OFFICER_TT, tip_id=first, cipher=TEST_CIPHER)
        assert entry.tips == 3 and [s.reference for s in entry.others] == [second_ref]  # not the other unit's
        assert other_unit not in [s.reference for s in entry.others]
        expected = [("bank", "done", "Gửi Vietcombank CN Cà Mau")]
        assert [(r.target, r.status, r.note) for r in entry.referrals] == expected
        assert tip_links.referral_counts(conn) == {("bank_account", "bank", "done"): 1}

    await db.run(work)


async def test_retention_erases_closed_and_never_closed_tips(db: Database) -> None:
    def work(conn: sa.Connection) -> None:
        closed = tip_id(conn, file_tip(conn, 1, when=NOW - timedelta(days=200)))
        forgotten = tip_id(conn, file_tip(conn, 2, when=NOW - timedelta(days=400)))
        fresh = tip_id(conn, file_tip(conn, 3, when=NOW - timedelta(days=10)))
        workflow.add_note(conn, viewer=SUPERVISOR, tip_id=closed, body="ghi chú", cipher=TEST_CIPHER,
                          now=NOW - timedelta(days=190))
        workflow.set_status(conn, viewer=SUPERVISOR, tip_id=closed, status="closed", outcome="confirmed_scam",
                            now=NOW - timedelta(days=181))
        report = run_retention(conn, cipher=TEST_CIPHER, now=NOW, closed_tip_days=180, conversation_days=30,
                               open_tip_days=365)
        assert report.tips_anonymised == 2
        for gone in (closed, forgotten):
            assert conn.execute(sa.select(sa.func.count()).select_from(tip_terms)
                                .where(tip_terms.c.tip_id == gone)).scalar_one() == 0
        assert conn.execute(sa.select(sa.func.count()).select_from(tip_notes)).scalar_one() == 0
        assert conn.execute(sa.select(sa.func.count()).select_from(tip_terms)
                            .where(tip_terms.c.tip_id == fresh)).scalar_one() > 0
        again = run_retention(conn, cipher=TEST_CIPHER, now=NOW, closed_tip_days=180, conversation_days=30,
                              open_tip_days=365)
        assert again.tips_anonymised == 0
        # The case and its history stay for statistics.
        assert conn.execute(sa.select(sa.func.count()).select_from(tip_events)
                            .where(tip_events.c.tip_id == closed)).scalar_one() >= 2

    await db.run(work)
