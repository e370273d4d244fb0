"""Police units and the communes each covers, as admins edit them in the console (one unit at a time; the
whole map at once is :func:`storage.units.replace_units`, used by the CSV import). Every change audited."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from storage import audit
from storage.intake_schema import police_units, unit_communes
from storage.units import commune_keys
from storage.users_schema import console_users

_U, _C = police_units.c, unit_communes.c


@dataclass(frozen=True, slots=True)
class Unit:
    id: str
    name: str
    province_code: str
    provincial: bool
    communes: tuple[tuple[str, str], ...]  # (code, name)


def get_unit(conn: sa.Connection, *, unit_id: str) -> Unit | None:
    row = conn.execute(sa.select(police_units).where(_U.id == unit_id)).first()
    if row is None:
        return None
    communes = tuple((r.commune_code, r.commune_name) for r in conn.execute(
        sa.select(_C.commune_code, _C.commune_name).where(_C.unit_id == unit_id).order_by(_C.commune_name)))
    return Unit(row.id, row.name, row.province_code, row.provincial, communes)


def save_unit(conn: sa.Connection, *, unit_id: str, name: str, province_code: str, provincial: bool,
              communes: Sequence[tuple[str, str]], actor: str, now: datetime, new: bool) -> list[str]:
    """Add or replace a unit and the communes it covers. A commune another unit covered moves here; their
    codes are returned. The provincial unit is unique: marking this one unmarks the others."""
    exists = conn.execute(sa.select(_U.id).where(_U.id == unit_id)).first() is not None
    if new and exists:
        raise KeyError(unit_id)
    if exists:
        conn.execute(sa.update(police_units).where(_U.id == unit_id).values(
            name=name, province_code=province_code, provincial=provincial, updated_at=now))
    else:
        conn.execute(sa.insert(police_units), {"id": unit_id, "name": name, "province_code": province_code,
                                               "provincial": provincial, "updated_at": now})
    if provincial:
        conn.execute(sa.update(police_units).where(_U.id != unit_id).values(provincial=False))
    codes = [code for code, _name in communes]
    moved = list(conn.execute(sa.select(_C.commune_code).where(_C.commune_code.in_(codes), _C.unit_id != unit_id))
                 .scalars()) if codes else []
    conn.execute(sa.delete(unit_communes).where(sa.or_(_C.unit_id == unit_id, _C.commune_code.in_(codes))))
    rows = []
    for code, commune in communes:
        full, bare = commune_keys(commune)
        rows.append({"commune_code": code, "commune_name": commune, "full_key": full, "name_key": bare,
                     "unit_id": unit_id, "province_code": province_code})
    if rows:
        conn.execute(sa.insert(unit_communes), rows)
    audit.record(conn, actor=actor, action="units.add" if new else "units.update", subject=f"unit:{unit_id}",
                 now=now, detail=f"{name}; {len(rows)} communes" + (f"; moved {', '.join(moved)}" if moved else ""))
    return moved


class UnitInUse(Exception):
    """Officers' accounts still belong to the unit: move them first."""


def delete_unit(conn: sa.Connection, *, unit_id: str, actor: str, now: datetime) -> bool:
    """Remove a unit and its communes (tips routed to it keep their history; their unit becomes empty).
    Raises :class:`UnitInUse` while officers' accounts belong to it."""
    if conn.execute(sa.select(console_users.c.id).where(console_users.c.unit_id == unit_id).limit(1)).first():
        raise UnitInUse(unit_id)
    done = bool(conn.execute(sa.delete(police_units).where(_U.id == unit_id)).rowcount)
    if done:
        audit.record(conn, actor=actor, action="units.delete", subject=f"unit:{unit_id}", now=now)
    return done


def export_rows(conn: sa.Connection) -> list[list[str]]:
    """The map as ``hotline import units`` reads it: one line per commune, the provincial unit's own line."""
    out: list[list[str]] = []
    for unit in conn.execute(sa.select(police_units).order_by(_U.id)):
        if unit.provincial:
            out.append([unit.id, unit.name, unit.province_code, "", ""])
        for code, name in conn.execute(sa.select(_C.commune_code, _C.commune_name).where(_C.unit_id == unit.id)
                                       .order_by(_C.commune_code)):
            out.append([unit.id, unit.name, unit.province_code, code, name])
    return out
