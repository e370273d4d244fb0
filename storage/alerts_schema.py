"""Tables of supervision: campaign alerts and their counters, awareness-warning drafts, the accounts of schools and
communes that report, and the schools' proposed changes to their official numbers.

Defined on the shared :data:`storage.schema.metadata`; migration ``0012_alerts`` creates them and must match.
Nothing here identifies a parent, and no indicator is kept in clear: an alert names a scammer's number, domain
or account by its blind index and sealed value (as ``tip_indicators`` does), or a pretext in a commune; the
counters keep only short hashes of the reporters' keyed chat hashes, to count distinct reporters. Account ids
are not foreign keys (``console_users`` is on another migration branch, as ``console_users.unit_id`` is not one
to ``police_units``).
"""

from __future__ import annotations

import sqlalchemy as sa

from storage.schema import UTCDateTime, metadata, tip_indicators
from storage.workflow_schema import tip_cases

# One row per campaign key ever reported: an indicator's blind index (kinds "phone", "domain", "bank_account";
# the keyed hash ``tip_indicators.value_key`` holds, never the value), or ("pretext_commune", "install_app@31993").
# The row is the lock that serialises tips of one key across processes (an upsert, then SELECT … FOR UPDATE),
# and holds the sliding window's recent reporters.
alert_keys = sa.Table(
    "alert_keys",
    metadata,
    sa.Column("kind", sa.String(16), primary_key=True),
    sa.Column("key", sa.String(255), primary_key=True),
    # JSON [[epoch seconds, reporter hash, tip id], …]: at most ``threshold`` distinct reporters, newest last.
    sa.Column("recent", sa.Text, nullable=False, server_default="[]"),
    sa.Column("campaigns", sa.Integer, nullable=False, server_default="0"),  # alerts raised for this key so far
    sa.Column("alert_id", sa.Integer, nullable=True),  # the newest campaign's alert
    # The newest moment the window was at the threshold: the campaign runs until campaign_gap_hours after it.
    sa.Column("alert_last_at", UTCDateTime, nullable=True),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# One row per campaign: raised once, when the key's distinct reporters in the window first reach the threshold.
# (kind, key, seq) is unique, so even a bug in the locking could never make two alerts of one campaign.
alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(16), nullable=False),  # phone | domain | bank_account | pretext_commune
    sa.Column("key", sa.String(255), nullable=False),  # the indicator's blind index, or "pretext@commune"
    sa.Column("value_sealed", sa.Text, nullable=True),  # the number / domain / account, sealed (kind and key as AAD)
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("pretext", sa.String(32), nullable=True),  # pretext_commune alerts
    sa.Column("commune_code", sa.String(16), nullable=True),
    sa.Column("threshold", sa.Integer, nullable=False),
    sa.Column("window_minutes", sa.Integer, nullable=False),
    sa.Column("first_tip_at", UTCDateTime, nullable=False),
    sa.Column("last_tip_at", UTCDateTime, nullable=False),
    sa.Column("raised_at", UTCDateTime, nullable=False),
    sa.Column("tips", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, server_default="open"),  # open | acknowledged
    sa.Column("acknowledged_by", sa.String(128), nullable=True),  # officer:<id>
    sa.Column("acknowledged_at", UTCDateTime, nullable=True),
    # The officers' Telegram group: pending → posted (or dead after retries; skipped when too old to matter).
    sa.Column("post_status", sa.String(16), nullable=False, server_default="pending"),
    sa.Column("post_claimed_at", UTCDateTime, nullable=True),
    sa.Column("post_attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("post_error", sa.String(255), nullable=True),
    sa.Column("posted_at", UTCDateTime, nullable=True),
    sa.UniqueConstraint("kind", "key", "seq", name="uq_alerts_kind_key_seq"),
    sa.Index("ix_alerts_status_raised", "status", "raised_at"),
    sa.Index("ix_alerts_post", "post_status", "id"),
)

alert_tips = sa.Table(
    "alert_tips",
    metadata,
    sa.Column("alert_id", sa.Integer, sa.ForeignKey("alerts.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("tip_id", sa.Integer, sa.ForeignKey("tips.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("added_at", UTCDateTime, nullable=False),
    sa.Index("ix_alert_tips_tip", "tip_id"),
)

# Awareness warnings drafted from an alert, for the affected communes and schools. The broadcasts issue sends
# them (and sets status/sent_at); until then they are stored and exported.
awareness_drafts = sa.Table(
    "awareness_drafts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("alert_id", sa.Integer, sa.ForeignKey("alerts.id", ondelete="SET NULL"), nullable=True),
    sa.Column("title", sa.String(255), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("audience", sa.Text, nullable=False),  # JSON {"communes": [{code, name}], "schools": [{id, name}]}
    sa.Column("status", sa.String(16), nullable=False, server_default="draft"),  # draft | sent | discarded
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("sent_at", UTCDateTime, nullable=True),
    sa.Index("ix_awareness_drafts_created", "created_at"),
)

# A reporter account's agency: a school (from the directory) or a commune (from the units import).
agency_accounts = sa.Table(
    "agency_accounts",
    metadata,
    sa.Column("user_id", sa.Integer, primary_key=True),
    sa.Column("agency_kind", sa.String(16), nullable=False),  # school | commune
    sa.Column("agency_code", sa.String(64), nullable=False),  # schools.id | unit_communes.commune_code
    sa.Column("agency_name", sa.String(255), nullable=False),
    sa.Column("commune_code", sa.String(16), nullable=True),  # where its reports are routed (a school's commune)
    sa.Column("commune_name", sa.String(255), nullable=True),
    sa.Column("bound_by", sa.String(128), nullable=False),
    sa.Column("bound_at", UTCDateTime, nullable=False),
)

# A school's proposed change to its official numbers in the directory, applied when an admin approves it.
directory_proposals = sa.Table(
    "directory_proposals",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("school_id", sa.String(64), nullable=False),
    sa.Column("action", sa.String(8), nullable=False),  # add | remove
    sa.Column("phone", sa.String(32), nullable=False),  # E.164
    sa.Column("note", sa.String(500), nullable=True),
    sa.Column("status", sa.String(16), nullable=False, server_default="pending"),  # pending | approved | rejected
    sa.Column("proposed_by", sa.Integer, nullable=False),
    sa.Column("proposed_at", UTCDateTime, nullable=False),
    sa.Column("reviewed_by", sa.Integer, nullable=True),
    sa.Column("reviewed_at", UTCDateTime, nullable=True),
    sa.Index("ix_directory_proposals_status", "status", "proposed_at"),
    sa.Index("ix_directory_proposals_school", "school_id", "proposed_at"),
)


# The dashboard's daily counts, kept as tips are filed (storage.stats.tally, in the filing transaction): one row
# per local day and (unit, commune, pretext, channel, kind), "" for a missing code (NULLs would defeat the upsert).
# Those facets are decided once at filing, so the counts never go stale; a month of the province is a few
# thousand rows instead of ninety thousand tips. Migration 0017_dashboard creates it and counts earlier tips.
stats_daily = sa.Table(
    "stats_daily",
    metadata,
    sa.Column("day", sa.String(10), primary_key=True),  # YYYY-MM-DD, Asia/Ho_Chi_Minh
    sa.Column("unit_id", sa.String(64), primary_key=True),
    sa.Column("commune_code", sa.String(16), primary_key=True),
    sa.Column("pretext", sa.String(32), primary_key=True),
    sa.Column("channel", sa.String(32), primary_key=True),
    sa.Column("kind", sa.String(16), primary_key=True),
    sa.Column("tips", sa.Integer, nullable=False),
    sa.Column("urgent", sa.Integer, nullable=False),
    sa.Column("harm_now", sa.Integer, nullable=False),
    sa.Column("money_lost_tips", sa.Integer, nullable=False),
    sa.Column("money_lost_vnd", sa.BigInteger, nullable=False),
)

# The dashboard's other figures (outcomes, time to first action and to close, targets) and its top numbers are
# read from these indexes alone over a period (migrations 0017_dashboard, 0018_handling_seconds).
sa.Index("ix_tip_cases_dashboard", tip_cases.c.created_at, tip_cases.c.unit_id, tip_cases.c.outcome,
         tip_cases.c.first_action_seconds, tip_cases.c.close_seconds, tip_cases.c.first_action_at,
         tip_cases.c.first_action_due)
sa.Index("ix_tip_indicators_dashboard", tip_indicators.c.kind, tip_indicators.c.created_at, tip_indicators.c.value_key,
         tip_indicators.c.dismissed, tip_indicators.c.tip_id)

ALERT_TABLES = (alert_keys, alerts, alert_tips, awareness_drafts, agency_accounts, directory_proposals, stats_daily)
