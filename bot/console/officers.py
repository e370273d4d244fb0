"""Who can be named on a page as a tip's assignee: the console accounts that read tips."""

from __future__ import annotations

import sqlalchemy as sa

from storage.users_schema import console_users


def officer_names(conn: sa.Connection) -> dict[int, str]:
    """Account id → e-mail of every officer and supervisor (disabled accounts too: they may still hold
    tips until released). Colleagues' work e-mails are not a parent's personal data."""
    rows = conn.execute(sa.select(console_users.c.id, console_users.c.email, console_users.c.disabled_at)
                        .where(console_users.c.role.in_(("officer", "supervisor"))).order_by(console_users.c.email))
    return {int(r.id): r.email + (" (đã khóa)" if r.disabled_at else "") for r in rows}
