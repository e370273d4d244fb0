"""The police units file for ``hotline import units FILE.csv``.

Header (first line, exactly)::

    unit_id,name,province_code,commune_code,commune_name

One line per commune a unit covers (the official commune code and name, e.g. ``32014,Xã Tân Lộc``); a
unit's ``name`` and ``province_code`` repeat on each of its lines. The **provincial** unit — which gets
every tip whose commune cannot be matched — is the one unit with a line whose ``commune_code`` and
``commune_name`` are both empty. For example::

    unit_id,name,province_code,commune_code,commune_name
    CA-96,Công an tỉnh Cà Mau,96,,
    CA-TANLOC,Công an xã Tân Lộc,96,32014,Xã Tân Lộc
    CA-TANTHANH,Công an phường Tân Thành,96,31993,Phường Tân Thành

The whole file is refused (nothing imported) on any error; each message gives the line and the fix.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

from storage.units import CommuneRecord, UnitRecord

HEADER = ("unit_id", "name", "province_code", "commune_code", "commune_name")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
_CODE = re.compile(r"^[A-Za-z0-9.\-]{1,16}$")


class UnitsFileError(ValueError):
    """The file cannot be imported; ``problems`` lists every reason, each with its line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems[:5]) + (f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""))
        self.problems = problems


@dataclass
class UnitsFile:
    units: list[UnitRecord] = field(default_factory=list)
    communes: list[CommuneRecord] = field(default_factory=list)


def parse_units_csv(data: bytes) -> UnitsFile:
    """Validate the whole file; raise :class:`UnitsFileError` listing every problem."""
    try:
        text = data.decode("utf-8-sig")  # Excel writes a BOM
    except UnicodeDecodeError as exc:
        raise UnitsFileError([f"not UTF-8 (byte {exc.start}); save the file as 'CSV UTF-8'"]) from None
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if not rows or [c.strip().lower() for c in rows[0]] != list(HEADER):
        raise UnitsFileError([f"line 1: the header must be exactly: {','.join(HEADER)}"])
    problems: list[str] = []
    units: dict[str, UnitRecord] = {}
    provincial: dict[str, int] = {}
    communes: dict[str, tuple[int, CommuneRecord]] = {}
    for line, raw in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in raw):
            continue
        if len(raw) != len(HEADER):
            problems.append(f"line {line}: {len(raw)} columns, expected {len(HEADER)} ({','.join(HEADER)})")
            continue
        unit_id, name, province, code, commune = (c.strip() for c in raw)
        if not _ID.match(unit_id):
            problems.append(f"line {line}: unit_id {unit_id!r} must be letters, digits, '-', '_' or '.'")
            continue
        if not name:
            problems.append(f"line {line}: the unit's name is empty")
            continue
        if province and not _CODE.match(province):
            problems.append(f"line {line}: province_code {province!r} is not a code")
            continue
        known = units.setdefault(unit_id, UnitRecord(unit_id, name, province))
        if (known.name, known.province_code) != (name, province):
            problems.append(f"line {line}: unit {unit_id} has a different name or province_code than on an "
                            "earlier line; use one spelling")
            continue
        if not code and not commune:
            provincial.setdefault(unit_id, line)
            continue
        if not code or not commune or not _CODE.match(code):
            problems.append(f"line {line}: give both commune_code and commune_name (or neither, for the "
                            "provincial unit)")
            continue
        if code in communes:
            problems.append(f"line {line}: commune {code} is already assigned on line {communes[code][0]}")
            continue
        communes[code] = (line, CommuneRecord(code, commune, unit_id, province))
    if len(provincial) != 1:
        where = ", ".join(f"{u} (line {n})" for u, n in provincial.items()) or "none"
        problems.append("exactly one unit must be provincial (a line with empty commune_code and commune_name); "
                        f"found: {where}")
    if problems:
        raise UnitsFileError(problems)
    (prov_id,) = provincial
    records = [UnitRecord(u.id, u.name, u.province_code, provincial=u.id == prov_id) for u in units.values()]
    return UnitsFile(units=records, communes=[c for _, c in communes.values()])
