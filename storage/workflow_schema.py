"""Tables of the police side of a tip: its case (workflow state and plain facets), history, notes, search
terms, tags and takedown referrals.

The police side is the same data seen from the other end: a tip's workflow lives here, not in any channel's
tables, and the console, the Telegram tip cards and the CLI change it through :mod:`storage.workflow` only.
Everything in ``tip_cases``, ``tip_tags`` and ``tip_events`` identifies nobody, so the queue filters and
sorts on plain indexed columns; what can identify a person (notes, indicator values, the report itself) is
sealed and opened only on a tip's page, audited. Migration ``0007_workflow`` creates these tables.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from storage.schema import UTCDateTime, metadata

QUEUE_FACETS = ("money_lost", "kind", "pretext", "verdict", "channel", "assignee_id", "reply_received")

# One row per tip, written in the transaction that files the tip.
tip_cases = sa.Table(
    "tip_cases",
    metadata,
    sa.Column("tip_id", sa.Integer, sa.ForeignKey("tips.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("reference", sa.String(32), nullable=False, unique=True),
    sa.Column("kind", sa.String(16), nullable=False, server_default="report"),  # report | handoff | agency
    sa.Column("status", sa.String(16), nullable=False, server_default="new"),
    # Denormalised from status so "open tips" is one equality in the leading index columns.
    sa.Column("is_open", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("outcome", sa.String(24), nullable=True),
    # 2: money moving now or an OTP just shared; 1: urgent; 0: the rest. The queue sorts on it first.
    sa.Column("priority", sa.SmallInteger, nullable=False, server_default="0"),
    sa.Column("urgent", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("unit_id", sa.String(64), nullable=True),
    sa.Column("commune_code", sa.String(16), nullable=True),
    sa.Column("pretext", sa.String(32), nullable=True),
    sa.Column("verdict", sa.String(16), nullable=True),
    sa.Column("channel", sa.String(32), nullable=False),  # where the parent reported (web, telegram, zalo…)
    sa.Column("contact_channel", sa.String(16), nullable=True),  # how the scammer reached them (call, sms…)
    sa.Column("money_lost", sa.Boolean, nullable=True),
    sa.Column("amount_vnd", sa.BigInteger, nullable=True),
    sa.Column("assignee_id", sa.Integer, nullable=True),
    sa.Column("assigned_at", UTCDateTime, nullable=True),
    # The assignee's last action on this tip: a taken tip whose officer went idle is released after a while.
    sa.Column("assignee_active_at", UTCDateTime, nullable=True),
    sa.Column("first_action_due", UTCDateTime, nullable=True),
    sa.Column("first_action_at", UTCDateTime, nullable=True),
    sa.Column("reply_received", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("handoff_state", sa.String(16), nullable=True),  # requested | live | ended (kind handoff)
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("closed_at", UTCDateTime, nullable=True),
    # Seconds from filing to the first officer action / to closing, written with those times (migration 0018):
    # the dashboard buckets a month of tips by them, where a time difference per row and bucket cost most of it.
    sa.Column("first_action_seconds", sa.Integer, nullable=True),
    sa.Column("close_seconds", sa.Integer, nullable=True),
    # The queue's orders, per visibility: a unit's open tips, and the whole province's.
    # The facets trail the sort columns (migration 0011): a filter is tested on the index entry, not the row.
    sa.Index("ix_tip_cases_unit_queue", "unit_id", "is_open", "priority", "created_at", "tip_id", *QUEUE_FACETS),
    sa.Index("ix_tip_cases_queue", "is_open", "priority", "created_at", "tip_id", *QUEUE_FACETS),
    sa.Index("ix_tip_cases_created", "created_at", "tip_id"),
    sa.Index("ix_tip_cases_assignee", "assignee_id", "is_open"),
    sa.Index("ix_tip_cases_commune", "commune_code", "created_at"),
)

# Multi-valued facets (what the scammer asked for, what the parent gave): (facet, value) → tips.
tip_tags = sa.Table(
    "tip_tags",
    metadata,
    sa.Column("facet", sa.String(16), primary_key=True),
    sa.Column("value", sa.String(32), primary_key=True),
    sa.Column("tip_id", sa.Integer, sa.ForeignKey("tips.id", ondelete="CASCADE"), primary_key=True),
    sa.Index("ix_tip_tags_tip", "tip_id"),
)

# Search without decrypting: keyed hashes of the words of the message text and of the indicators (number,
# domain, account). A query's words are hashed the same way and intersected here.
tip_terms = sa.Table(
    "tip_terms",
    metadata,
    sa.Column("term", sa.String(64), primary_key=True),
    sa.Column("tip_id", sa.Integer, sa.ForeignKey("tips.id", ondelete="CASCADE"), primary_key=True),
    sa.Index("ix_tip_terms_tip", "tip_id"),
)

# Append-only history: one row per change (status, assignment, note added, follow-up, reply, hand-off…).
# ``detail`` is JSON with codes and ids only, never a parent's words.
tip_events = sa.Table(
    "tip_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("tip_id", sa.Integer, sa.ForeignKey("tips.id", ondelete="CASCADE"), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("actor", sa.String(128), nullable=False),  # officer:<id> | telegram:<id> | system | parent
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("detail", sa.Text, nullable=True),
    sa.Index("ix_tip_events_tip", "tip_id", "id"),
)

# Officers' internal notes (sealed: they may quote the parent or name people).
tip_notes = sa.Table(
    "tip_notes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("tip_id", sa.Integer, sa.ForeignKey("tips.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("author_id", sa.Integer, nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
)

# Requests to take a confirmed indicator down: the telco (suspend the number), the bank (freeze the account),
# the registrar or host (the domain), the platform (a Zalo / Telegram account). Keyed by the indicator, so
# every tip of the cluster shows the same tracker.
referrals = sa.Table(
    "referrals",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("indicator_kind", sa.String(16), nullable=False),
    sa.Column("indicator_key", sa.String(64), nullable=False),  # keyed hash of the value
    sa.Column("indicator_sealed", sa.Text, nullable=False),
    sa.Column("target", sa.String(16), nullable=False),  # telco | bank | registrar | platform
    sa.Column("status", sa.String(16), nullable=False),  # requested | acknowledged | done | refused
    sa.Column("tip_id", sa.Integer, sa.ForeignKey("tips.id", ondelete="SET NULL"), nullable=True),
    sa.Column("requested_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("updated_by", sa.String(128), nullable=False),
    sa.Column("note", sa.Text, nullable=True),  # sealed
    sa.Index("ix_referrals_indicator", "indicator_kind", "indicator_key"),
    sa.Index("ix_referrals_status", "status", "requested_at"),
)

WORKFLOW_TABLES = (tip_cases, tip_tags, tip_terms, tip_events, tip_notes, referrals)


def seconds_between(start: datetime, end: datetime) -> int:
    """Whole seconds from ``start`` to ``end``: ``first_action_seconds`` and ``close_seconds`` (naive is UTC)."""
    def utc(value: datetime) -> datetime:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value
    return round((utc(end) - utc(start)).total_seconds())
