"""Police units, the commune → unit map, and routing a tip to the unit of the parent's commune.

Parents type their commune however they like ("xa tan loc", "Tân Lộc", "P. Tân Thành, Cà Mau"); matching is
on folded words (no diacritics, no "xã"/"phường" prefix), so the map is imported once from the official list
of communes and never has to anticipate spellings.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from nlu.normalize import fold
from storage.intake_schema import police_units, tip_routing, unit_communes

# Administrative prefixes (folded), longest first so "thi tran" wins over "t".
_PREFIXES = ("thi tran", "dac khu", "phuong", "xa", "tt", "p", "x")
_NON_WORD = re.compile(r"[^a-z0-9]+")
_MAX_WORDS = 40  # a commune answer is a few words; a pasted paragraph is not worth thousands of n-grams
_MAX_NGRAM = 6


@dataclass(frozen=True, slots=True)
class UnitRecord:
    id: str
    name: str
    province_code: str
    provincial: bool = False


@dataclass(frozen=True, slots=True)
class CommuneRecord:
    code: str
    name: str
    unit_id: str
    province_code: str


@dataclass(frozen=True, slots=True)
class Routing:
    """Where a tip went. ``method``: ``commune`` (matched), ``provincial`` (fallback) or ``none`` (no units)."""

    unit_id: str | None
    unit_name: str | None
    commune_code: str | None
    commune_name: str | None
    province_code: str | None
    method: str


def _words(text: str) -> list[str]:
    return _NON_WORD.sub(" ", fold(text)).split()


def commune_keys(name: str) -> tuple[str, str]:
    """``(full_key, name_key)`` of an official commune name: folded with and without its prefix.

    A bare number ("Phường 7") keeps its prefix in both: "7" alone would match any number a parent types.
    """
    words = _words(name)
    full = " ".join(words)
    bare = full
    for prefix in _PREFIXES:
        if full.startswith(prefix + " "):
            bare = full[len(prefix) + 1 :]
            break
    if not bare or bare.isdigit():
        bare = full
    return full, bare


def _ngrams(text: str) -> list[str]:
    words = _words(text)[:_MAX_WORDS]
    grams = {" ".join(words[i : i + n]) for n in range(1, _MAX_NGRAM + 1) for i in range(len(words) - n + 1)}
    return sorted(grams)


_MATCH = (
    sa.select(unit_communes.c.commune_code, unit_communes.c.commune_name, unit_communes.c.full_key,
              unit_communes.c.name_key, unit_communes.c.unit_id, unit_communes.c.province_code)
    .where(sa.or_(unit_communes.c.full_key.in_(sa.bindparam("grams", expanding=True)),
                  unit_communes.c.name_key.in_(sa.bindparam("grams", expanding=True))))
)


def match_commune(conn: sa.Connection, *, text: str) -> CommuneRecord | None:
    """The commune ``text`` names, or None when it names none or several equally well.

    Prefers a match with the prefix typed ("xa tan loc" over a "Phường Tân Lộc" twin), then the longest
    match (so "Tân Lộc Bắc" beats "Tân Lộc").
    """
    grams = _ngrams(text)
    if not grams:
        return None
    gram_set = set(grams)
    best: tuple[int, int] | None = None
    found: dict[str, CommuneRecord] = {}
    for row in conn.execute(_MATCH, {"grams": grams}):
        full_hit = row.full_key in gram_set
        score = (1 if full_hit else 0, len((row.full_key if full_hit else row.name_key).split()))
        record = CommuneRecord(row.commune_code, row.commune_name, row.unit_id, row.province_code)
        if best is None or score > best:
            best, found = score, {record.code: record}
        elif score == best:
            found[record.code] = record
    if len(found) != 1:
        return None  # nothing, or a tie between communes: the provincial unit decides
    return next(iter(found.values()))


def replace_units(conn: sa.Connection, *, units: Sequence[UnitRecord], communes: Sequence[CommuneRecord],
                  now: datetime) -> tuple[int, int]:
    """Make the imported file the truth: units upserted, the commune map replaced. Returns the counts.

    Units missing from the file are kept (tips already routed to them still name them) but lose their
    communes and the provincial flag.
    """
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    for unit in units:
        stmt = insert(police_units).values(id=unit.id, name=unit.name, province_code=unit.province_code,
                                           provincial=unit.provincial, updated_at=now)
        conn.execute(stmt.on_conflict_do_update(index_elements=["id"], set_={
            "name": stmt.excluded.name, "province_code": stmt.excluded.province_code,
            "provincial": stmt.excluded.provincial, "updated_at": stmt.excluded.updated_at}))
    conn.execute(sa.update(police_units).where(police_units.c.id.not_in([u.id for u in units]))
                 .values(provincial=False))
    conn.execute(sa.delete(unit_communes))
    rows = []
    for c in communes:
        full, bare = commune_keys(c.name)
        rows.append({"commune_code": c.code, "commune_name": c.name, "full_key": full, "name_key": bare,
                     "unit_id": c.unit_id, "province_code": c.province_code})
    if rows:
        conn.execute(sa.insert(unit_communes), rows)
    return len(units), len(rows)


def list_units(conn: sa.Connection) -> list[dict[str, object]]:
    """Every unit with its number of communes (for the CLI and the console)."""
    count = (sa.select(sa.func.count()).where(unit_communes.c.unit_id == police_units.c.id)
             .correlate(police_units).scalar_subquery())
    result = conn.execute(sa.select(police_units, count.label("communes")).order_by(police_units.c.id))
    return [dict(r) for r in result.mappings()]


_ROUTED = (
    sa.select(tip_routing.c.tip_id, tip_routing.c.unit_id, police_units.c.name.label("unit_name"),
              tip_routing.c.commune_code, unit_communes.c.commune_name, tip_routing.c.province_code,
              tip_routing.c.method)
    .select_from(tip_routing.outerjoin(police_units, police_units.c.id == tip_routing.c.unit_id)
                 .outerjoin(unit_communes, unit_communes.c.commune_code == tip_routing.c.commune_code))
    .where(tip_routing.c.tip_id.in_(sa.bindparam("ids", expanding=True)))
)
_PROVINCIAL = sa.select(police_units.c.id, police_units.c.name, police_units.c.province_code).where(
    police_units.c.provincial.is_(True)).limit(1)
_ROUTE_VALUES: dict[str, Any] = {"tip_id": sa.bindparam("r_tip"), "unit_id": sa.bindparam("r_unit"),
                 "commune_code": sa.bindparam("r_commune"), "province_code": sa.bindparam("r_province"),
                 "method": sa.bindparam("r_method"), "routed_at": sa.bindparam("r_at")}
# Several forwarders may route the same tip at once: the first insert wins, the others read it back.
_INSERT_ROUTE = {
    "postgresql": pg_insert(tip_routing).values(_ROUTE_VALUES).on_conflict_do_nothing(index_elements=["tip_id"]),
    "sqlite": sqlite_insert(tip_routing).values(_ROUTE_VALUES).on_conflict_do_nothing(index_elements=["tip_id"]),
}


def _routed(conn: sa.Connection, ids: list[int]) -> dict[int, Routing]:
    return {r.tip_id: Routing(r.unit_id, r.unit_name, r.commune_code, r.commune_name, r.province_code, r.method)
            for r in conn.execute(_ROUTED, {"ids": ids})}


def route_tips(conn: sa.Connection, *, communes: Mapping[int, str | None], now: datetime | None = None,
               ) -> dict[int, Routing]:
    """Each tip's unit (``communes``: tip id → the commune as typed). Decided on first call and stored, so
    later calls — re-deliveries, other sinks — and officers' reassignments stick."""
    found = _routed(conn, list(communes))
    missing = [tip_id for tip_id in communes if tip_id not in found]
    if missing:
        decided: dict[str | None, Routing] = {}  # tips of one commune share one lookup
        rows = []
        for tip_id in missing:
            text = communes[tip_id]
            if text not in decided:
                decided[text] = _decide(conn, text)
            d = decided[text]
            rows.append({"r_tip": tip_id, "r_unit": d.unit_id, "r_commune": d.commune_code,
                         "r_province": d.province_code, "r_method": d.method, "r_at": now or datetime.now(UTC)})
        conn.execute(_INSERT_ROUTE[conn.dialect.name], rows)
        found.update(_routed(conn, missing))
    return found


def route_tip(conn: sa.Connection, *, tip_id: int, commune_text: str | None, now: datetime | None = None) -> Routing:
    """One tip's unit (see :func:`route_tips`)."""
    return route_tips(conn, communes={tip_id: commune_text}, now=now)[tip_id]


def _decide(conn: sa.Connection, commune_text: str | None) -> Routing:
    commune = match_commune(conn, text=commune_text) if commune_text else None
    if commune is not None:
        return Routing(commune.unit_id, None, commune.code, commune.name, commune.province_code, "commune")
    provincial = conn.execute(_PROVINCIAL).first()
    if provincial is None:
        return Routing(None, None, None, None, None, "none")
    return Routing(provincial.id, provincial.name, None, None, provincial.province_code or None, "provincial")
