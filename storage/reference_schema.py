"""Reference data the checks compare against: the school directory and the police blocklist.

Defined on the shared ``metadata``; ``storage/migrations/versions/0002_reference_data.py`` must match.
Official service domains are not here: they ship as editable data in ``handlers/checks/data``.
"""

from __future__ import annotations

import sqlalchemy as sa

from storage.schema import UTCDateTime, metadata

schools = sa.Table(
    "schools",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),  # the directory's school_id, stable across imports
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("province", sa.String(128), nullable=False, server_default=""),
    sa.Column("commune", sa.String(128), nullable=False, server_default=""),
    sa.Column("contact_book_app", sa.String(64), nullable=False, server_default=""),
    sa.Column("website", sa.String(512), nullable=True),
    # The website's host (ASCII, no "www."), or NULL when the site is on a shared platform (a Facebook
    # page): links on this host or its subdomains are the school's own.
    sa.Column("website_host", sa.String(255), nullable=True, index=True),
    # The name folded for matching: core words padded with spaces (" nguyen trai ") so LIKE can match whole
    # words, and the school type codes ("th thcs"). See handlers.checks.schools.
    sa.Column("name_key", sa.String(255), nullable=False, index=True),
    sa.Column("type_key", sa.String(64), nullable=False, server_default=""),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

school_phones = sa.Table(
    "school_phones",
    metadata,
    sa.Column(
        "school_id", sa.String(64), sa.ForeignKey("schools.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("phone", sa.String(32), primary_key=True),  # E.164
    # "Whose number is this?" is the hot lookup of a call check.
    sa.Index("ix_school_phones_phone", "phone"),
)

# Police-confirmed numbers (E.164) and domains (ASCII, lowercase, no "www."). The primary key is the
# lookup index: a check asks for a handful of exact values, never scans.
blocklist = sa.Table(
    "blocklist",
    metadata,
    sa.Column("kind", sa.String(16), primary_key=True),  # phone | domain
    sa.Column("value", sa.String(255), primary_key=True),
    sa.Column("note", sa.Text, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
)
