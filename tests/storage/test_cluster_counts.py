"""The cluster counts kept as tips are filed equal the counts taken from the rows, whatever tips arrive.

Random scam waves (a few popular keys named by many tips, with unique ones beside them, wide tips naming more
keys than the subsets cover, reporters filing several tips, retention and erasure unlinking reporters) are filed
through ``create_tip``; every tip's cluster and every key's counts are then compared with a brute-force count
over ``tip_indicators``, and the kept tables with a :func:`cluster_counts.rebuild` from scratch.
"""

from __future__ import annotations

import random
import secrets
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from bot.intake.clusters import tip_clusters
from storage import cluster_counts
from storage.cluster_schema import cluster_keys, cluster_reporters, cluster_sets, cluster_wide_tips
from storage.db import Database
from storage.keys import ConversationKey
from storage.migrate import alembic_config
from storage.schema import metadata, tip_indicators
from storage.tips import Indicator, create_tip
from tests.chat import TEST_CIPHER

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
POPULAR = [("phone", "+84388000111"), ("domain", "sll-edu.top"), ("bank_account", "0071000123456"),
           ("phone", "+84911222333")]


def _file(conn: sa.Connection, reporter: int, named: list[tuple[str, str]], when: datetime) -> int:
    ref = create_tip(conn, key=ConversationKey("api", f"parent-{reporter}"), user_id=f"parent-{reporter}",
                     urgent=False, data={"slots": {}, "locale": "vi", "consent": {"contact": False}}, attachments=[],
                     indicators=[Indicator(k, v) for k, v in named], sinks=["console"], prefix="TG", now=when,
                     cipher=TEST_CIPHER)
    return int(ref.rsplit("-", 1)[1])


def _wave(conn: sa.Connection, rng: random.Random, tips: int) -> list[int]:
    ids = []
    for _n in range(tips):
        named = rng.sample(POPULAR, rng.choice([0, 1, 1, 2, 2, 3, 4]))
        named += [("bank_account", f"{rng.randrange(10**9):09d}0") for _ in range(rng.choice([0, 0, 1, 2]))]
        if rng.random() < 0.08:  # a pasted message full of links: more keys than the subsets cover
            named += [("domain", f"link-{rng.randrange(40)}.top") for _ in range(cluster_counts.SUBSET_KEYS + 2)]
        when = NOW + timedelta(minutes=rng.randrange(60 * 24 * 30))  # filed in any order
        ids.append(_file(conn, rng.randrange(max(2, tips // 4)), named, when))
        if rng.random() < 0.1:  # retention or an erasure unlinks an earlier tip from its reporter
            cluster_counts.replace_reporter(conn, tip_id=rng.choice(ids), reporter_key=secrets.token_hex(32))
    return ids


def _from_rows(conn: sa.Connection) -> tuple[dict[tuple[str, str], tuple[int, int, Any, Any]], dict[int, int]]:
    """What the counts must be, counted the slow way."""
    t = tip_indicators.c
    rows = conn.execute(sa.select(t.tip_id, t.kind, t.value_key, t.reporter_key, t.created_at)).all()
    tips_of: dict[tuple[str, str], set[int]] = defaultdict(set)
    reporters: dict[tuple[str, str], set[str]] = defaultdict(set)
    seen: dict[tuple[str, str], list[Any]] = defaultdict(list)
    keys_of: dict[int, set[tuple[str, str]]] = defaultdict(set)
    for r in rows:
        key = (r.kind, r.value_key)
        tips_of[key].add(r.tip_id)
        reporters[key].add(r.reporter_key)
        seen[key].append(cluster_counts._utc(r.created_at))
        keys_of[r.tip_id].add(key)
    per_key = {k: (len(tips_of[k]), len(reporters[k]), min(seen[k]), max(seen[k])) for k in tips_of}
    union = {tip: len(set().union(*(tips_of[k] for k in keys))) for tip, keys in keys_of.items()}
    return per_key, union


def _tables(conn: sa.Connection) -> list[list[tuple[Any, ...]]]:
    return [sorted(tuple(r) for r in conn.execute(sa.select(table))) for table in
            (cluster_keys, cluster_sets, cluster_reporters, cluster_wide_tips)]


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_kept_counts_equal_the_counts_from_the_rows(database: Database, seed: int) -> None:
    def work(conn: sa.Connection) -> None:
        ids = _wave(conn, random.Random(seed), 120)
        per_key, union = _from_rows(conn)
        kept = cluster_counts.key_counts(conn, per_key)
        assert {k: (c.tips, c.reporters, c.first_seen, c.last_seen) for k, c in kept.items()} == per_key
        clusters = tip_clusters(conn, tip_ids=ids, cipher=TEST_CIPHER)
        assert {t: c.size for t, c in clusters.items()} == {t: union.get(t, 1) for t in ids}
        for cluster in clusters.values():  # each key as the tip.v1 payload names it
            for key in cluster.keys:
                assert key.size == per_key[(key.kind, cluster_counts_key(key.kind, key.value))][0]
        wide = {r.tip_id for r in conn.execute(sa.select(cluster_wide_tips))}
        assert wide and len(wide) < len(ids)  # the wave had both kinds of tip
        before = _tables(conn)
        cluster_counts.rebuild(conn)
        assert _tables(conn) == before

    await database.run(work)


def cluster_counts_key(kind: str, value: str) -> str:
    from storage.indicators import key_of

    return key_of(TEST_CIPHER, kind, value)


async def test_a_scam_wave_costs_a_tip_the_same_few_statements(sqlite_db: Database) -> None:
    """However many tips name the wave's number and domain, a new tip's cluster reads its keys' counts and its
    key sets' counts — no statement touches the wave's thousands of indicator rows."""
    def work(conn: sa.Connection) -> list[str]:
        for n in range(300):
            _file(conn, n, [*POPULAR[:2], ("bank_account", f"{n:010d}")], NOW + timedelta(minutes=n))
        filing: list[str] = []

        def record(*args: Any) -> None:
            filing.append(args[2])

        sa.event.listen(conn, "before_cursor_execute", record)
        newest = _file(conn, 999, POPULAR[:2], NOW + timedelta(days=1))
        sa.event.remove(conn, "before_cursor_execute", record)
        # Filing it read none of the wave's indicator rows: the counts are kept, not recounted.
        assert not [sql for sql in filing if "tip_indicators" in sql and not sql.startswith("INSERT")], filing
        statements: list[str] = []
        sa.event.listen(conn, "before_cursor_execute", lambda *a: statements.append(a[2]))
        cluster = tip_clusters(conn, tip_ids=[newest], cipher=TEST_CIPHER)[newest]
        assert cluster.size == 301 and [k.size for k in cluster.keys] == [301, 301]
        return statements

    statements = await sqlite_db.run(work)
    assert len(statements) == 3  # the tip's rows, its keys' counts, its key sets' counts
    for sql in statements[1:]:
        assert "tip_indicators" not in sql, sql


def _down_to_0018(conn: sa.Connection) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = conn
    command.downgrade(cfg, "0018_handling_seconds")
    assert "cluster_keys" not in sa.inspect(conn).get_table_names()


def _up(conn: sa.Connection) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, "heads")


async def test_migration_fills_the_counts_of_tips_filed_before_it(database: Database) -> None:
    """0020 on a database full of tips: the counts it fills are the counts of the rows, and the tables match
    their definitions."""
    ids = await database.run(lambda conn: _wave(conn, random.Random(9), 60))
    expected = await database.run(_tables)
    async with database.engine.begin() as conn:
        await conn.run_sync(_down_to_0018)
    async with database.engine.begin() as conn:
        await conn.run_sync(_up)

    def check(conn: sa.Connection) -> None:
        assert _tables(conn) == expected
        _, union = _from_rows(conn)
        clusters = tip_clusters(conn, tip_ids=ids, cipher=TEST_CIPHER)
        assert {t: c.size for t, c in clusters.items()} == {t: union.get(t, 1) for t in ids}
        mine = ("cluster_keys", "cluster_sets", "cluster_reporters", "cluster_wide_tips")
        assert [d for d in compare_metadata(MigrationContext.configure(conn), metadata)
                if any(name in repr(d) for name in mine)] == []

    await database.run(check)
