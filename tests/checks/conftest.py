"""A small directory, blocklist and set of citizens' reports that the check tests share."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from handlers.checks import CheckRequest, CheckResult, check
from handlers.checks.csv_import import parse_schools_csv
from storage import indicators, reference
from storage.db import Database
from storage.schema import tip_indicators, tips
from tests.chat import TEST_CIPHER

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)

DIRECTORY = """school_id,name,province,commune,official_phones,contact_book_app,website
CM-THCS-NT,Trường THCS Nguyễn Trãi,Cà Mau,Phường Tân Thành,0290 3831 234;0912.000.111,vnedu,https://thcsnguyentrai.edu.vn
CM-TH-NT,Trường Tiểu học Nguyễn Trãi,Cà Mau,Xã Khánh Bình,+84 290 3840 555,smas,
CM-THPT-LL,Trường THPT Lê Lợi,Cà Mau,Xã Lý Văn Lâm,0290-3822-333,enetviet,http://www.lêlợi.edu.vn/
CM-THCS-TC,Trường TH&THCS Trường Chinh,Cà Mau,Phường An Xuyên,0290 3811 000,,https://www.facebook.com/thcstruongchinh
CM-THCS-PBC,Trường THCS Phan Bội Châu,Cà Mau,Phường An Xuyên,0290 3899 999,vnedu,
"""

BLOCKED_PHONE = "+84377123999"
BLOCKED_DOMAIN = "lua-dao-hoc-phi.com"


def tip_row() -> dict[str, Any]:
    """A filler ``tips`` row: only its id matters here (indicators hang off it). Built from the table's
    required columns, so it keeps working while the core schema evolves."""
    fillers = {sa.Text: "{}", sa.String: "test", sa.JSON: {}, sa.Boolean: False, sa.Integer: 0, sa.DateTime: NOW}
    row: dict[str, Any] = {}
    for col in tips.columns:
        if col.primary_key or col.nullable or col.server_default is not None:
            continue
        row[col.name] = next(v for t, v in fillers.items() if isinstance(col.type, t))
    return row


def _seed(conn: sa.Connection) -> None:
    parsed = parse_schools_csv(DIRECTORY.encode())
    assert not parsed.skipped, parsed.skipped
    reference.upsert_schools(conn, records=parsed.rows, now=NOW)
    reference.add_to_blocklist(conn, entries=[
        reference.BlocklistEntry("phone", BLOCKED_PHONE, "CA tỉnh xác nhận"),
        reference.BlocklistEntry("domain", BLOCKED_DOMAIN, None),
    ], now=NOW)
    # Reports: +84388000111 by 2 distinct people (one of them twice), +84388000222 by 3, a domain by 2 and
    # one by 3; +84388000333 by one person only (does not count); a school's own number by 2 (spoofing).
    reports = [("phone", "+84388000111", "a"), ("phone", "+84388000111", "a"), ("phone", "+84388000111", "b"),
               ("phone", "+84388000222", "a"), ("phone", "+84388000222", "b"), ("phone", "+84388000222", "c"),
               ("phone", "+84388000333", "a"), ("phone", "+842903899999", "a"), ("phone", "+842903899999", "b"),
               ("domain", "tracuu-hocphi.net", "a"), ("domain", "tracuu-hocphi.net", "b"),
               ("domain", "sodientu.top", "a"), ("domain", "sodientu.top", "b"), ("domain", "sodientu.top", "c")]
    for kind, value, reporter in reports:
        tip_id = conn.execute(sa.insert(tips).values(**tip_row()).returning(tips.c.id)).scalar_one()
        conn.execute(sa.insert(tip_indicators), indicators.rows(
            TEST_CIPHER, tip_id=tip_id, pairs=[(kind, value)], reporter_key=f"key-{reporter}", origin_key=None,
            created_at=NOW))


@pytest.fixture
async def seeded(database: Database) -> Database:
    """The ``database`` fixture (SQLite and PostgreSQL) with the shared directory, blocklist and reports."""
    await database.run(_seed)
    return database


@pytest.fixture
async def seeded_sqlite(sqlite_db: Database) -> Database:
    await sqlite_db.run(_seed)
    return sqlite_db


async def run_check(db: Database, **fields: Any) -> CheckResult:
    return await db.run(check, CheckRequest(**fields), cipher=TEST_CIPHER)


def codes(result: CheckResult) -> set[str]:
    return {r.code for r in result.reasons()}


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Fail loudly if anything tries to resolve a name or open a connection."""
    attempts: list[str] = []

    def refuse(*args: Any, **_kwargs: Any) -> Any:
        attempts.append(repr(args[:2]))
        raise AssertionError(f"network access attempted: {args[:2]!r}")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return attempts
