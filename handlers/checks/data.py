"""The editable data shipped with the checks: official domains, brands, shorteners, shared platforms.

Files live in ``handlers/checks/data``; they are read once per process (they do not change while it runs)
and validated on load so that a typo in a YAML file fails loudly at start-up, not quietly in a check.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from handlers import yamlio


class DataFileError(ValueError):
    """A shipped data file is malformed; the message names the file and the entry."""


@dataclass(frozen=True, slots=True)
class Brand:
    """A service name scammers imitate, and the official domain it belongs to."""

    name: str
    domain: str
    max_edit_distance: int


@dataclass(frozen=True, slots=True)
class ReferenceData:
    official_domains: frozenset[str]
    brands: tuple[Brand, ...]
    known_good_hosts: frozenset[str]
    unverified_domains: frozenset[str]
    shorteners: frozenset[str]
    shared_hosts: frozenset[str]


def _read(name: str) -> str:
    return resources.files("handlers.checks").joinpath("data", name).read_text(encoding="utf-8")


def _host_lines(name: str) -> frozenset[str]:
    hosts = set()
    for raw in _read(name).splitlines():
        line = raw.split("#", 1)[0].strip().lower()
        if line:
            hosts.add(line)
    return frozenset(hosts)


def _domain(value: Any, where: str) -> str:
    if not isinstance(value, str) or "." not in value or value != value.strip().lower():
        raise DataFileError(f"official_domains.yaml: {where}: {value!r} is not a lowercase domain name")
    return value


def parse_official(text: str) -> tuple[frozenset[str], tuple[Brand, ...], frozenset[str], frozenset[str]]:
    """Parse ``official_domains.yaml``: official domains, brands, known-good hosts, unverified domains."""
    doc = yamlio.safe_load(text) or {}
    if not isinstance(doc, dict) or not isinstance(doc.get("official"), list):
        raise DataFileError("official_domains.yaml: needs a top-level 'official:' list")
    domains: set[str] = set()
    brands: list[Brand] = []
    for i, entry in enumerate(doc["official"], start=1):
        if not isinstance(entry, dict):
            raise DataFileError(f"official_domains.yaml: official entry {i} must be a mapping")
        domain = _domain(entry.get("domain"), f"official entry {i}")
        domains.add(domain)
        brand = entry.get("brand")
        if brand is None:
            continue
        if not isinstance(brand, str) or not brand.isalnum() or brand != brand.lower():
            raise DataFileError(f"official_domains.yaml: {domain}: brand {brand!r} must be lowercase letters/digits")
        default = 1 if len(brand) <= 5 else 2
        distance = entry.get("max_edit_distance", default)
        if not isinstance(distance, int) or not 0 <= distance <= 2:
            raise DataFileError(f"official_domains.yaml: {domain}: max_edit_distance must be 0, 1 or 2")
        brands.append(Brand(brand, domain, distance))
    good = frozenset(_domain(h, "known_good_hosts") for h in doc.get("known_good_hosts") or ())
    unverified = frozenset(_domain(h, "unverified") for h in doc.get("unverified") or ())
    return frozenset(domains), tuple(brands), good, unverified


@lru_cache(maxsize=1)
def reference_data() -> ReferenceData:
    """The shipped data, loaded and validated once per process."""
    domains, brands, good, unverified = parse_official(_read("official_domains.yaml"))
    return ReferenceData(
        official_domains=domains,
        brands=brands,
        known_good_hosts=good,
        unverified_domains=unverified,
        shorteners=_host_lines("shorteners.txt"),
        shared_hosts=_host_lines("shared_hosts.txt"),
    )
