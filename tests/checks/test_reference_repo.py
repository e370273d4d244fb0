"""Repository contract on SQLite and PostgreSQL."""

from storage import reference
from storage.reference import BlocklistEntry, SchoolRecord
from tests.chat import TEST_CIPHER

from .conftest import NOW


def rec(sid: str, name: str = "THCS A", phones: tuple[str, ...] = (), host: str | None = None,
        key: str = " a ") -> SchoolRecord:
    return SchoolRecord(id=sid, name=name, phones=phones, website_host=host, name_key=key, type_key="thcs")


async def test_upsert_schools_inserts_then_updates_and_replaces_phones(database):
    first = [rec("A", phones=("+84912000111", "+84912000222")), rec("B", key=" b ")]
    assert await database.run(lambda c: reference.upsert_schools(c, records=first, now=NOW)) == (2, 0)
    again = [rec("A", name="THCS A mới", phones=("+84912000333",)), rec("C", key=" c ")]
    assert await database.run(lambda c: reference.upsert_schools(c, records=again, now=NOW)) == (1, 1)
    schools = await database.run(lambda c: reference.get_schools(c, ids=["A", "B", "C", "nope"]))
    assert [(s.id, s.name, s.phones) for s in schools] == [
        ("A", "THCS A mới", ("+84912000333",)), ("B", "THCS A", ()), ("C", "THCS A", ())]
    owners = await database.run(lambda c: reference.schools_with_phones(c, phones=["+84912000111", "+84912000333"]))
    assert owners == {"+84912000333": [("A", "THCS A mới")]}
    assert await database.run(reference.count_schools) == 3


async def test_find_candidates_exactly_or_by_part(database):
    records = [rec("A", key=" nguyen trai "), rec("B", key=" nguyen trai 2 "), rec("C", key=" le loi ")]
    await database.run(lambda c: reference.upsert_schools(c, records=records, now=NOW))

    async def part(q: str) -> list[str]:
        return [s.id for s in await database.run(lambda c: reference.schools_with_name_part(c, padded_core=q))]

    async def exact(*keys: str) -> list[str]:
        return [s.id for s in await database.run(lambda c: reference.schools_with_name_keys(c, keys=keys))]

    assert await part(" trai ") == ["A", "B"]
    assert await part(" tra ") == []  # whole words only
    assert await part("  ") == []
    assert await exact(" nguyen trai ", " le loi ", " nguyen ") == ["A", "C"]
    assert await exact() == []


async def test_schools_with_hosts(database):
    await database.run(lambda c: reference.upsert_schools(c, records=[rec("A", host="a.edu.vn")], now=NOW))
    found = await database.run(lambda c: reference.schools_with_hosts(c, hosts=["x.a.edu.vn", "a.edu.vn"]))
    assert found == {"a.edu.vn": [("A", "THCS A")]}


async def test_blocklist_add_update_list_remove(database):
    entries = [BlocklistEntry("phone", "+84377123999", "n1"), BlocklistEntry("domain", "evil.com"),
               BlocklistEntry("domain", "evil.com")]
    assert await database.run(lambda c: reference.add_to_blocklist(c, entries=entries, now=NOW)) == (2, 0)
    updated = [BlocklistEntry("phone", "+84377123999", "n2"), BlocklistEntry("phone", "+84377123000")]
    assert await database.run(lambda c: reference.add_to_blocklist(c, entries=updated, now=NOW)) == (1, 1)
    listed = await database.run(lambda c: reference.list_blocklist(c))
    assert [(e.kind, e.value, e.note) for e in listed] == [
        ("domain", "evil.com", None), ("phone", "+84377123000", None), ("phone", "+84377123999", "n2")]
    assert [e.value for e in await database.run(lambda c: reference.list_blocklist(c, kind="phone", limit=1))] == [
        "+84377123000"]
    hits = await database.run(lambda c: reference.blocklisted(c, phones=["+84377123999", "evil.com"],
                                                              domains=["evil.com", "+84377123000"]))
    assert hits == {("phone", "+84377123999"), ("domain", "evil.com")}  # kinds never cross
    assert await database.run(lambda c: reference.remove_from_blocklist(c, kind="domain", value="evil.com"))
    assert not await database.run(lambda c: reference.remove_from_blocklist(c, kind="domain", value="evil.com"))


async def test_empty_lookups_do_not_query(database):
    assert await database.run(lambda c: reference.blocklisted(c, phones=[], domains=[])) == set()
    assert await database.run(lambda c: reference.report_counts(c, phones=[], domains=[], cipher=TEST_CIPHER)) == {}
    assert await database.run(lambda c: reference.get_schools(c, ids=[])) == []


async def test_lookups_never_scan_the_big_tables(sqlite_db):
    """Regression guard for the latency target: every check lookup is an index search on SQLite."""
    probes = [
        (reference._BLOCKED, {"phones": ["+84377123999"], "domains": ["a.com", "b.a.com"]}),
        (reference._BLOCKED, {"phones": ["+84377123999"], "domains": []}),
        (reference._REPORTS, {"keys": ["a" * 64, "b" * 64]}),  # blind indexes of the numbers and domains
        (reference._PHONE_OWNERS, {"phones": ["+84377123999"]}),
        (reference._HOST_OWNERS, {"hosts": ["a.com"]}),
        (reference._BY_NAME_KEYS, {"keys": [" nguyen trai "]}),
        (reference._GET_SCHOOLS, {"ids": ["A"]}),
    ]

    def plans(conn):
        out = []
        for stmt, params in probes:
            sql = str(stmt.params(**params).compile(conn, compile_kwargs={"literal_binds": True}))
            out.append([row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql)])
        return out

    for plan in await sqlite_db.run(plans):
        steps = " | ".join(plan)
        assert "SEARCH" in steps, steps
        for table in ("blocklist", "tip_indicators", "school_phones", "schools"):
            assert f"SCAN {table}" not in steps, steps
