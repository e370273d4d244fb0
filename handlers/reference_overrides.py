"""The check engine's reference data with the admins' changes: domains added to or switched off in the
official, shortener and unverified lists in the console (``reference_domains``), over the shipped files.

Read on every check (a handful of rows at most), so a change applies to the next check in every process.
"""

from __future__ import annotations

from dataclasses import replace

import sqlalchemy as sa

from handlers.checks.data import ReferenceData, reference_data
from storage.content_directory import domain_overrides

_FIELDS = {"official": "official_domains", "shortener": "shorteners", "unverified": "unverified_domains"}


def effective_reference(conn: sa.Connection, base: ReferenceData | None = None) -> ReferenceData:
    """``base`` (the shipped data) with every enabled addition and every disabled shipped entry applied."""
    data = base or reference_data()
    overrides = domain_overrides(conn)
    if not overrides:
        return data
    changed: dict[str, frozenset[str]] = {}
    for kind, field in _FIELDS.items():
        current: frozenset[str] = getattr(data, field)
        added = {o.value for o in overrides if o.kind == kind and o.enabled}
        removed = {o.value for o in overrides if o.kind == kind and not o.enabled}
        if added or removed:
            changed[field] = frozenset((current | added) - removed)
    return replace(data, **changed) if changed else data  # type: ignore[arg-type]
