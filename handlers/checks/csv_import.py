"""Reading the school directory and blocklist CSV files: validate every row, keep the good ones.

A bad row is reported with its line number and skipped; the rest still load. Only a file that cannot be
read at all (not UTF-8, missing or wrong header) is refused as a whole, with :class:`CsvFileError`.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from handlers.checks.data import reference_data
from handlers.checks.phones import parse_phone
from handlers.checks.schools import name_key
from handlers.checks.urls import host_matches, normalize_domain, parse_url
from storage.reference import BlocklistEntry, SchoolRecord

SCHOOL_HEADER = ("school_id", "name", "province", "commune", "official_phones", "contact_book_app", "website")
BLOCKLIST_HEADER = ("kind", "value", "note")
T = TypeVar("T")
_SCHOOL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")


class CsvFileError(ValueError):
    """The file as a whole is unusable; the message says why and what the header must be."""


@dataclass(frozen=True, slots=True)
class RowProblem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass
class Parsed(Generic[T]):
    """The good rows, the rows skipped (with why), and warnings about rows that were still loaded."""

    rows: list[T] = field(default_factory=list)
    skipped: list[RowProblem] = field(default_factory=list)
    warnings: list[RowProblem] = field(default_factory=list)


def _rows(data: bytes, header: tuple[str, ...]) -> list[tuple[int, list[str]]]:
    try:
        text = data.decode("utf-8-sig")  # Excel writes a BOM; accept it
    except UnicodeDecodeError as exc:
        raise CsvFileError(f"not UTF-8 (byte {exc.start}); save the file as 'CSV UTF-8'") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    expected = ",".join(header)
    try:
        first = next(reader)
    except StopIteration:
        raise CsvFileError(f"the file is empty; the first line must be: {expected}") from None
    except csv.Error as exc:
        raise CsvFileError(f"line 1: {exc}") from None
    if tuple(h.strip() for h in first) != header:
        raise CsvFileError(f"wrong header {','.join(first)!r}; the first line must be: {expected}")
    out = []
    line = reader.line_num
    while True:
        start = line + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:  # e.g. an unterminated quote: the rest of the file is one broken field
            raise CsvFileError(f"line {start}: {exc}") from None
        line = reader.line_num
        if any(cell.strip() for cell in row):
            out.append((start, row))
    return out


def _check_len(value: str, name: str, limit: int, errors: list[str]) -> str:
    value = value.strip()
    if len(value) > limit:
        errors.append(f"{name}: longer than {limit} characters")
    return value


def _school(row: list[str], errors: list[str], warnings: list[str]) -> SchoolRecord | None:
    school_id, name, province, commune, phones_text, app, website = (c.strip() for c in row)
    if not _SCHOOL_ID.match(school_id):
        errors.append(f"school_id {school_id!r}: use 1-64 letters, digits, '.', '_' or '-'")
    name = _check_len(name, "name", 255, errors)
    key = name_key(name)
    if not key.core:
        errors.append(f"name {name!r}: needs the school's own name, not only its type")
    phones: list[str] = []
    for part in phones_text.split(";"):
        if not part.strip():
            continue
        info = parse_phone(part)
        if not info.valid or info.e164 is None:
            errors.append(f"official_phones: {part.strip()!r} is not a valid phone number")
        elif info.premium:
            errors.append(f"official_phones: {part.strip()!r} is a premium 1900 number; a school's line never is")
        elif info.foreign:
            errors.append(f"official_phones: {part.strip()!r} is not a Vietnamese number")
        else:
            phones.append(info.e164)
    host: str | None = None
    if website:
        host = normalize_domain(website)
        if host is None or parse_url(website).is_ip:
            errors.append(f"website: {website!r} is not a web address")
            host = None
        elif host_matches(host, reference_data().shared_hosts):
            warnings.append(f"website {website!r} is on a shared platform; loaded, but not treated as official")
            host = None
    province = _check_len(province, "province", 128, errors)
    commune = _check_len(commune, "commune", 128, errors)
    app = _check_len(app, "contact_book_app", 64, errors)
    if len(website) > 512:
        errors.append("website: longer than 512 characters")
    if errors:
        return None
    return SchoolRecord(
        id=school_id, name=name, province=province, commune=commune, contact_book_app=app,
        website=website or None, website_host=host, name_key=key.padded, type_key=key.type_key,
        phones=tuple(dict.fromkeys(phones)),
    )


def parse_schools_csv(data: bytes) -> Parsed[SchoolRecord]:
    """Validate a directory file (header ``school_id,name,province,commune,official_phones,…``)."""
    parsed: Parsed[SchoolRecord] = Parsed()
    first_line: dict[str, int] = {}
    for line, row in _rows(data, SCHOOL_HEADER):
        if len(row) != len(SCHOOL_HEADER):
            parsed.skipped.append(RowProblem(line, f"expected {len(SCHOOL_HEADER)} fields, found {len(row)}"))
            continue
        errors: list[str] = []
        warnings: list[str] = []
        record = _school(row, errors, warnings)
        if record is not None and not errors and record.id in first_line:
            errors.append(f"duplicate school_id {record.id!r} (first on line {first_line[record.id]}); row skipped")
        if record is None or errors:
            parsed.skipped.append(RowProblem(line, "; ".join(errors)))
            continue
        first_line[record.id] = line
        parsed.rows.append(record)
        parsed.warnings.extend(RowProblem(line, w) for w in warnings)
    return parsed


def parse_blocklist_entry(kind: str, value: str) -> tuple[str, str]:
    """Validate and normalise one blocklist value; raises ValueError with a readable message."""
    kind = kind.strip().lower()
    if kind == "phone":
        info = parse_phone(value)
        if not info.valid or info.e164 is None:
            raise ValueError(f"{value.strip()!r} is not a valid phone number")
        return kind, info.e164
    if kind == "domain":
        domain = normalize_domain(value)
        url = parse_url(value)
        if domain is None or not (url.registrable or url.is_ip):
            raise ValueError(f"{value.strip()!r} is not a domain with a known ending (like .vn or .com)")
        return kind, domain
    raise ValueError(f"kind {kind!r}: must be 'phone' or 'domain'")


def parse_blocklist_csv(data: bytes) -> Parsed[BlocklistEntry]:
    """Validate a blocklist file (header ``kind,value,note``)."""
    parsed: Parsed[BlocklistEntry] = Parsed()
    first_line: dict[tuple[str, str], int] = {}
    for line, row in _rows(data, BLOCKLIST_HEADER):
        if len(row) != len(BLOCKLIST_HEADER):
            parsed.skipped.append(RowProblem(line, f"expected {len(BLOCKLIST_HEADER)} fields, found {len(row)}"))
            continue
        try:
            kind, value = parse_blocklist_entry(row[0], row[1])
        except ValueError as exc:
            parsed.skipped.append(RowProblem(line, str(exc)))
            continue
        if (kind, value) in first_line:
            parsed.skipped.append(RowProblem(line, f"duplicate of line {first_line[kind, value]}"))
            continue
        first_line[kind, value] = line
        parsed.rows.append(BlocklistEntry(kind, value, row[2].strip() or None))
    return parsed
