"""Tip indicators sealed (issue 16, point 11): blind index to match, sealed value to show, no plaintext on disk.

Real SQLite files and PostgreSQL; the legacy case is a database at the previous version's schema (0014 and what
builds on it undone) with indicators written in clear, then opened by the real start-up (``build_runtime``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from bot.intake.clusters import tip_clusters
from bot.runtime import build_runtime
from handlers.checks import CheckRequest, check
from storage import indicators, tip_links, workflow
from storage.crypto import Cipher, CryptoError, cipher_from_file, new_key
from storage.db import Database
from storage.keys import ConversationKey
from storage.migrate import alembic_config, upgrade
from storage.reference import report_counts
from storage.rekey import rekey_batch
from storage.schema import UTCDateTime, metadata, tip_indicators
from storage.tips import Indicator, create_tip
from tests.chat import TEST_CIPHER
from tests.harden.conftest import settings_for

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
ACCOUNT, PHONE, DOMAIN = "0071000123456", "+84388000111", "hoc-phi-online.top"
THIS = "0014_sealed_indicators"


def file_tip(conn: sa.Connection, n: int, named: list[tuple[str, str]], *, cipher: Cipher = TEST_CIPHER,
             when: datetime = NOW, origin: str | None = None) -> int:
    ref = create_tip(conn, key=ConversationKey("api", f"parent-{n}"), user_id=f"parent-{n}", urgent=False,
                     data={"slots": {"caller_number": PHONE}, "locale": "vi", "consent": {"contact": False}},
                     attachments=[], indicators=[Indicator(k, v) for k, v in named], sinks=["console"],
                     prefix="TG", now=when, cipher=cipher, origin=origin)
    return int(ref.rsplit("-", 1)[1])


def on_disk(db_file: Path) -> bytes:
    """The database file and its WAL, as an attacker with a copy of the disk would read them."""
    return b"".join(p.read_bytes() for p in (db_file, db_file.with_name(db_file.name + "-wal")) if p.exists())


async def test_a_new_tip_stores_no_indicator_in_clear(database: Database) -> None:
    def work(conn: sa.Connection) -> list[Any]:
        tip_id = file_tip(conn, 1, [("bank_account", ACCOUNT), ("phone", PHONE), ("domain", DOMAIN),
                                    ("phone", PHONE)])
        assert indicators.of_tip(conn, cipher=TEST_CIPHER, tip_id=tip_id) == [
            ("bank_account", ACCOUNT), ("domain", DOMAIN), ("phone", PHONE)]
        return list(conn.execute(sa.select(tip_indicators)).mappings())

    rows = await database.run(work)
    assert len(rows) == 3  # the repeated number is one row
    for row in rows:
        assert row["legacy_value"] is None
        stored = " ".join(str(v) for v in row.values())
        assert ACCOUNT not in stored and PHONE not in stored and DOMAIN not in stored and "388000111" not in stored
        assert len(row["value_key"]) == 64


async def test_a_sealed_value_opens_only_for_its_own_tip_and_kind(sqlite_db: Database) -> None:
    def work(conn: sa.Connection) -> None:
        first, second = file_tip(conn, 1, [("bank_account", ACCOUNT)]), file_tip(conn, 2, [("phone", PHONE)])
        (token,) = conn.execute(sa.select(tip_indicators.c.value_sealed)
                                .where(tip_indicators.c.tip_id == first)).scalars()
        assert indicators.open_value(TEST_CIPHER, tip_id=first, kind="bank_account", sealed=token) == ACCOUNT
        with pytest.raises(CryptoError):
            indicators.open_value(TEST_CIPHER, tip_id=second, kind="bank_account", sealed=token)
        with pytest.raises(CryptoError):
            indicators.open_value(TEST_CIPHER, tip_id=first, kind="phone", sealed=token)

    await sqlite_db.run(work)


async def test_every_reader_gives_the_same_answers_on_the_blind_index(database: Database) -> None:
    def work(conn: sa.Connection) -> None:
        a = file_tip(conn, 1, [("phone", PHONE), ("bank_account", ACCOUNT)], origin="203.0.113.7")
        b = file_tip(conn, 2, [("phone", PHONE)], origin="203.0.113.7", when=NOW + timedelta(hours=1))
        c = file_tip(conn, 3, [("bank_account", ACCOUNT), ("domain", DOMAIN)], when=NOW + timedelta(hours=2))
        lonely = file_tip(conn, 4, [("phone", "+84388000999")])
        # Crowd counts: two chats from one address are one person.
        assert report_counts(conn, phones=[PHONE, "+84388000999", "+84377000000"], domains=[DOMAIN],
                             cipher=TEST_CIPHER) == {("phone", PHONE): 1, ("phone", "+84388000999"): 1,
                                                     ("domain", DOMAIN): 1}
        result = check(conn, CheckRequest(phone="0388 000 111"), cipher=TEST_CIPHER)
        assert result.to_json()["verdict"]
        # tip.v1 clusters: named by the opened values, counted on the index, the union of the tip's keys.
        clusters = tip_clusters(conn, tip_ids=[a, b, lonely, 999], cipher=TEST_CIPHER)
        assert [(k.kind, k.value, k.size) for k in clusters[a].keys] == [("bank_account", ACCOUNT, 2),
                                                                          ("phone", PHONE, 2)]
        assert clusters[a].size == 3 and clusters[b].size == 2 and clusters[lonely].size == 1
        assert clusters[999].keys == () and clusters[999].size == 1
        assert clusters[a].keys[0].first_seen == NOW and clusters[a].keys[0].last_seen == NOW + timedelta(hours=2)
        # The console's cluster: the opened value for the page, the other tips naming it.
        supervisor = workflow.Viewer.officer(1, "supervisor", None)
        entries = tip_links.cluster(conn, viewer=supervisor, tip_id=c, cipher=TEST_CIPHER)
        assert [(e.kind, e.value, e.tips, len(e.others)) for e in entries] == [
            ("bank_account", ACCOUNT, 2, 1), ("domain", DOMAIN, 1, 0)]
        referral = tip_links.add_referral(conn, viewer=supervisor, tip_id=c, kind="bank_account", value=ACCOUNT,
                                          target="bank", cipher=TEST_CIPHER, now=NOW)
        tip_links.update_referral(conn, viewer=supervisor, tip_id=a, referral_id=referral, status="done",
                                  cipher=TEST_CIPHER, now=NOW)  # seen from another tip naming the account
        with pytest.raises(workflow.WorkflowError):
            tip_links.update_referral(conn, viewer=supervisor, tip_id=lonely, referral_id=referral, status="done",
                                      cipher=TEST_CIPHER, now=NOW)
        with pytest.raises(workflow.WorkflowError):
            tip_links.add_referral(conn, viewer=supervisor, tip_id=c, kind="bank_account", value="0000000000",
                                   target="bank", cipher=TEST_CIPHER, now=NOW)
        assert tip_links.block_indicators(conn, viewer=supervisor, tip_id=a, picks=[("phone", PHONE)], now=NOW,
                                          cipher=TEST_CIPHER) == 1
        assert "phone_blocklisted" in {r.code for r in check(conn, CheckRequest(phone=PHONE),
                                                             cipher=TEST_CIPHER).reasons()}

    await database.run(work)


async def test_top_indicators_counts_a_period_and_opens_the_values(database: Database) -> None:
    def work(conn: sa.Connection) -> None:
        for i in range(4):
            file_tip(conn, i, [("phone", PHONE)], when=NOW + timedelta(days=i))
        for i in range(3):
            file_tip(conn, 10 + i, [("bank_account", ACCOUNT), ("domain", DOMAIN)], when=NOW + timedelta(days=i),
                     origin="198.51.100.4")
        old = file_tip(conn, 20, [("phone", "+84388000999")], when=NOW - timedelta(days=30))
        dismissed = file_tip(conn, 21, [("phone", "+84388000222")], when=NOW)
        file_tip(conn, 22, [("phone", "+84388000222")], when=NOW)
        conn.execute(sa.update(tip_indicators).where(tip_indicators.c.tip_id == dismissed).values(dismissed=True))
        top = indicators.top_indicators(conn, cipher=TEST_CIPHER, kinds=["phone", "bank_account"], since=NOW,
                                        until=NOW + timedelta(days=10), limit=5)
        assert [(t.kind, t.value, t.tips, t.reporters) for t in top] == [
            ("phone", PHONE, 4, 4), ("bank_account", ACCOUNT, 3, 1), ("phone", "+84388000222", 1, 1)]
        assert top[0].first_seen == NOW and top[0].last_seen == NOW + timedelta(days=3)
        everything = indicators.top_indicators(conn, cipher=TEST_CIPHER, kinds=["phone"], include_dismissed=True)
        assert ("+84388000999", 1) in [(t.value, t.tips) for t in everything] and old
        assert [t.tips for t in everything if t.value == "+84388000222"] == [2]
        assert [t.value for t in indicators.top_indicators(conn, cipher=TEST_CIPHER, kinds=["domain"],
                                                           until=NOW + timedelta(days=1))] == [DOMAIN]
        assert indicators.top_indicators(conn, cipher=TEST_CIPHER, kinds=["phone"], limit=1)[0].value == PHONE
        assert indicators.top_indicators(conn, cipher=TEST_CIPHER, kinds=[]) == []

    await database.run(work)


async def test_cluster_counts_and_top_numbers_are_answered_by_the_indexes(sqlite_db: Database) -> None:
    """Regression guard: matching on the blind index is an index search, never a scan of the table."""
    from storage import reference

    probes: list[tuple[Any, dict[str, Any], str]] = [
        (reference._REPORTS, {"keys": ["a" * 64]}, "ix_tip_indicators_kind_key"),
        # the shape of top_indicators' counting query: one range of the index per kind
        (sa.select(tip_indicators.c.kind, tip_indicators.c.value_key, sa.func.count(tip_indicators.c.tip_id))
         .where(tip_indicators.c.kind.in_(["phone", "bank_account"]), tip_indicators.c.value_key.is_not(None),
                tip_indicators.c.created_at >= NOW, tip_indicators.c.dismissed.is_(False))
         .group_by(tip_indicators.c.kind, tip_indicators.c.value_key), {}, "ix_tip_indicators_kind_key"),
    ]

    def plans(conn: sa.Connection) -> list[str]:
        out = []
        for stmt, params, _index in probes:
            sql = str((stmt.params(**params) if params else stmt).compile(
                conn, compile_kwargs={"literal_binds": True}))
            out.append(" | ".join(row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql)))
        return out

    for (_stmt, _params, index), plan in zip(probes, await sqlite_db.run(plans), strict=True):
        assert f"SEARCH tip_indicators USING COVERING INDEX {index}" in plan, plan
        assert "SCAN tip_indicators" not in plan, plan


async def test_key_rotation_reseals_values_and_keeps_the_blind_index(sqlite_db: Database) -> None:
    old = Cipher.from_config({"k1": new_key()}, "k1", base64_of(TEST_CIPHER.index_key))
    tip_id = await sqlite_db.run(file_tip, 1, [("bank_account", ACCOUNT)], cipher=old)
    rotated = Cipher(keys={**old.keys, "k2": TEST_CIPHER.keys["k1"]}, current="k2", index_key=old.index_key)
    before = await sqlite_db.run(lambda c: c.execute(sa.select(tip_indicators.c.value_key)).scalar_one())
    after: dict[str, int] = {}
    while True:
        seen = dict(after)
        await sqlite_db.run(rekey_batch, cipher=rotated, after=after, batch=1)
        if after == seen:
            break
    key, token = await sqlite_db.run(lambda c: c.execute(sa.select(tip_indicators.c.value_key,
                                                                   tip_indicators.c.value_sealed)).one())
    assert key == before and rotated.token_key_id(token) == "k2"
    only_new = Cipher(keys={"k2": TEST_CIPHER.keys["k1"]}, current="k2", index_key=old.index_key)
    assert await sqlite_db.run(indicators.of_tip, cipher=only_new, tip_id=tip_id) == [("bank_account", ACCOUNT)]


def base64_of(raw: bytes) -> str:
    import base64

    return base64.b64encode(raw).decode()


# ----- databases from before 0014 ------------------------------------------------------------------------------
_LEGACY = sa.table("tip_indicators", sa.column("tip_id"), sa.column("kind"), sa.column("value"),
                   sa.column("reporter_key"), sa.column("created_at", UTCDateTime), sa.column("dismissed"),
                   sa.column("origin_key"))


LEGACY_NAMES = [[("bank_account", ACCOUNT), ("phone", PHONE)], [("bank_account", ACCOUNT)], [("domain", DOMAIN)]]


def file_tips_naming_nothing(conn: sa.Connection, *, cipher: Cipher) -> list[int]:
    return [file_tip(conn, n, [], cipher=cipher, when=NOW + timedelta(minutes=n)) for n in range(len(LEGACY_NAMES))]


def back_to_before_this(conn: sa.Connection) -> None:
    """The schema of the previous version: 0014 (and what was built on it) undone."""
    cfg = alembic_config()
    cfg.attributes["connection"] = conn
    command.downgrade(cfg, f"{THIS}-1")
    assert "value" in {c["name"] for c in sa.inspect(conn).get_columns("tip_indicators")}


def name_in_clear(conn: sa.Connection, *, tip_ids: list[int]) -> None:
    """Indicators as the previous version wrote them: in clear, in ``tip_indicators.value``."""
    for n, (tip_id, named) in enumerate(zip(tip_ids, LEGACY_NAMES, strict=True)):
        conn.execute(sa.insert(_LEGACY), [{"tip_id": tip_id, "kind": k, "value": v, "reporter_key": f"r{n}",
                                           "created_at": NOW + timedelta(minutes=n), "dismissed": False,
                                           "origin_key": None} for k, v in named])


async def test_start_up_seals_legacy_indicators_and_leaves_no_plaintext_in_the_file_or_wal(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    db_file = tmp_path / "hotline.db"
    cipher = cipher_from_file(tmp_path / "keys.json", create=True)  # the keys the server will start with
    old = Database(settings.database.url)
    try:
        await upgrade(old)
        tip_ids = await old.run(file_tips_naming_nothing, cipher=cipher)
        async with old.engine.begin() as conn:
            await conn.run_sync(back_to_before_this)
        await old.run(name_in_clear, tip_ids=tip_ids)
        assert ACCOUNT.encode() in on_disk(db_file)  # the defect: the account in clear, in the file or the WAL
    finally:
        await old.dispose()
    assert ACCOUNT.encode() in on_disk(db_file)

    runtime = await build_runtime(settings)  # migrates (0014), seals, rewrites the file
    try:
        live = on_disk(db_file)  # while the server runs: the WAL is there, and empty of old frames
        for secret in (ACCOUNT, PHONE, PHONE[3:], DOMAIN):
            assert secret.encode() not in live, secret

        def read(conn: sa.Connection) -> dict[str, Any]:
            rows = conn.execute(sa.select(tip_indicators.c.tip_id, tip_indicators.c.legacy_value,
                                          tip_indicators.c.value_key)).all()
            return {"rows": rows, "first": indicators.of_tip(conn, cipher=runtime.cipher, tip_id=rows[0].tip_id),
                    "counts": report_counts(conn, phones=[PHONE], domains=[DOMAIN], cipher=runtime.cipher),
                    "clusters": tip_clusters(conn, tip_ids=[rows[0].tip_id], cipher=runtime.cipher)}

        found = await runtime.db.run(read)
        assert len(found["rows"]) == 4 and all(r.legacy_value is None and r.value_key for r in found["rows"])
        assert found["first"] == [("bank_account", ACCOUNT), ("phone", PHONE)]
        assert found["counts"] == {("phone", PHONE): 1, ("domain", DOMAIN): 1}
        assert found["clusters"][found["rows"][0].tip_id].size == 2  # both tips naming the account
        assert await indicators.seal_legacy(runtime.db, cipher=runtime.cipher) == 0  # idempotent
    finally:
        await runtime.close()
    for secret in (ACCOUNT, PHONE, DOMAIN):
        assert secret.encode() not in on_disk(db_file), secret


async def test_conversion_runs_in_batches_and_is_idempotent(database: Database) -> None:
    def legacy(conn: sa.Connection) -> None:
        tip_id = file_tip(conn, 1, [])
        conn.execute(sa.insert(tip_indicators), [
            {"tip_id": tip_id, "kind": "phone", "legacy_value": f"+8438800{i:04d}", "reporter_key": f"r{i}",
             "created_at": NOW, "dismissed": False} for i in range(7)])

    await database.run(legacy)
    assert await database.run(indicators.seal_legacy_batch, cipher=TEST_CIPHER, batch=3) == 3
    assert await indicators.seal_legacy(database, cipher=TEST_CIPHER, batch=3) == 4
    assert await indicators.seal_legacy(database, cipher=TEST_CIPHER, batch=3) == 0
    rows = await database.run(lambda c: c.execute(sa.select(tip_indicators)).all())
    assert all(r.legacy_value is None for r in rows)
    assert {r.value_key for r in rows} == {indicators.key_of(TEST_CIPHER, "phone", f"+8438800{i:04d}")
                                           for i in range(7)}
    assert sorted(indicators.open_value(TEST_CIPHER, tip_id=r.tip_id, kind=r.kind, sealed=r.value_sealed)
                  for r in rows) == [f"+8438800{i:04d}" for i in range(7)]


async def test_migration_matches_the_table_definition(database: Database) -> None:
    def diffs(conn: sa.Connection) -> list[Any]:
        return [d for d in compare_metadata(MigrationContext.configure(conn), metadata)
                if "tip_indicators" in repr(d)]

    async with database.transaction() as conn:
        assert await conn.run_sync(diffs) == []


async def test_downgrade_refuses_to_drop_sealed_values_and_works_without_them(sqlite_db: Database) -> None:
    def downgrade(conn: sa.Connection) -> set[str]:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, f"{THIS}-1")
        return {c["name"] for c in sa.inspect(conn).get_columns("tip_indicators")}

    await sqlite_db.run(file_tip, 1, [("phone", PHONE)])
    with pytest.raises(RuntimeError, match="cannot turn back into plaintext"):
        async with sqlite_db.engine.begin() as conn:
            await conn.run_sync(downgrade)
    await sqlite_db.run(lambda c: c.execute(sa.delete(tip_indicators)))
    async with sqlite_db.engine.begin() as conn:
        columns = await conn.run_sync(downgrade)
    assert "value" in columns and "value_key" not in columns
    await upgrade(sqlite_db)
    async with sqlite_db.engine.connect() as conn:
        columns = await conn.run_sync(lambda c: {x["name"] for x in sa.inspect(c).get_columns("tip_indicators")})
    assert {"value_key", "value_sealed", "legacy_value"} <= columns


async def test_retention_unlinks_indicators_from_the_reporter_and_keeps_them_for_clusters(database: Database) -> None:
    from storage.retention import run_retention

    def work(conn: sa.Connection) -> None:
        old = file_tip(conn, 1, [("bank_account", ACCOUNT)], when=NOW - timedelta(days=400), origin="203.0.113.9")
        before = conn.execute(sa.select(tip_indicators.c.reporter_key)).scalar_one()
        report = run_retention(conn, cipher=TEST_CIPHER, now=NOW, closed_tip_days=180, conversation_days=30,
                               open_tip_days=365)
        assert report.tips_anonymised == 1
        key, origin = conn.execute(sa.select(tip_indicators.c.reporter_key, tip_indicators.c.origin_key)).one()
        assert key != before and origin is None  # a chat id or an address no longer leads to the tip
        assert indicators.of_tip(conn, cipher=TEST_CIPHER, tip_id=old) == [("bank_account", ACCOUNT)]

    await database.run(work)
