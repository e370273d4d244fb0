"""Tables of what admins keep current, and of awareness broadcasts.

- ``flow_versions`` / ``flow_publications``: every saved version of a flow file (who, when, the text) and
  every publication of one. The latest publication per file is what every process serves; the shipped YAML
  file is version 1 of its file. Processes poll ``max(flow_publications.id)``, so a publication reaches all
  of them within seconds.
- ``faq_entries``: questions parents ask, answered from free text and from the menu.
- ``blocklist_sources``: where a blocklist entry came from (console, a tip, an import, the CLI) and who added
  it; the entry itself stays in ``blocklist`` (storage/reference_schema.py), which the checks read.
- ``reference_domains``: official e-contact-book domains, shorteners and unverified domains added in the
  console, and shipped ones switched off; merged with ``handlers/checks/data`` when a check runs.
- ``content_imports``: a CSV import in progress (the console's progress bar) and its per-line report.
- ``content_meta``: small flags (which seed data a fresh install got).
- ``subscriptions``: parents who asked for scam warnings for their school and/or commune (chat id sealed,
  consent recorded); ``broadcasts`` and ``broadcast_deliveries``: a warning and one row per recipient, sent at
  most once; ``broadcast_leases``: which process sends on a rate-limited platform right now;
  ``broadcast_tallies``: what the delivery rows of a broadcast counted once retention dropped them (no
  recipient in them: channel, outcome, the hour it was sent, how many).

Migration ``0013_content`` creates these tables (``0019_broadcast_tallies`` the tallies) and must match them.
"""

from __future__ import annotations

import sqlalchemy as sa

from storage.schema import UTCDateTime, metadata

flow_versions = sa.Table(
    "flow_versions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("file", sa.String(64), nullable=False),  # e.g. "main.yaml"
    sa.Column("number", sa.Integer, nullable=False),  # 1, 2, … per file; 1 is the shipped file
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("note", sa.String(255), nullable=True),
    sa.Column("created_by", sa.String(128), nullable=False),  # officer:<id> | shipped | cli:<user>
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("file", "number", name="uq_flow_versions_file_number"),
)

flow_publications = sa.Table(
    "flow_publications",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("file", sa.String(64), nullable=False),
    sa.Column("version_id", sa.Integer, sa.ForeignKey("flow_versions.id", ondelete="CASCADE"), nullable=False),
    sa.Column("action", sa.String(16), nullable=False),  # publish | rollback
    sa.Column("published_by", sa.String(128), nullable=False),
    sa.Column("published_at", UTCDateTime, nullable=False),
    sa.Index("ix_flow_publications_file", "file", "id"),
)

faq_entries = sa.Table(
    "faq_entries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("question", sa.Text, nullable=False),
    sa.Column("answer", sa.Text, nullable=False),
    sa.Column("keywords", sa.Text, nullable=False, server_default=""),  # one phrase per line, as typed
    sa.Column("language", sa.String(8), nullable=False, server_default="vi"),  # vi | en
    sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("position", sa.Integer, nullable=False, server_default="0"),
    sa.Column("updated_by", sa.String(128), nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

blocklist_sources = sa.Table(
    "blocklist_sources",
    metadata,
    sa.Column("kind", sa.String(16), primary_key=True),
    sa.Column("value", sa.String(255), primary_key=True),
    sa.Column("source", sa.String(16), nullable=False),  # console | tip | import | cli
    sa.Column("tip_reference", sa.String(32), nullable=True),
    sa.Column("added_by", sa.String(128), nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

reference_domains = sa.Table(
    "reference_domains",
    metadata,
    sa.Column("kind", sa.String(16), primary_key=True),  # official | shortener | unverified
    sa.Column("value", sa.String(255), primary_key=True),
    # False: a shipped entry an admin switched off (it no longer counts); True: added in the console.
    sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("note", sa.String(255), nullable=True),
    sa.Column("updated_by", sa.String(128), nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

content_imports = sa.Table(
    "content_imports",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(16), nullable=False),  # schools | units | blocklist
    sa.Column("file_name", sa.String(255), nullable=False, server_default=""),
    sa.Column("status", sa.String(16), nullable=False),  # running | done | failed
    sa.Column("total", sa.Integer, nullable=False, server_default="0"),  # good rows to load
    sa.Column("done", sa.Integer, nullable=False, server_default="0"),
    sa.Column("inserted", sa.Integer, nullable=False, server_default="0"),
    sa.Column("updated", sa.Integer, nullable=False, server_default="0"),
    sa.Column("problems", sa.JSON, nullable=False),  # [{"line": 3, "message": "…"}] rows skipped
    sa.Column("warnings", sa.JSON, nullable=False),  # rows loaded with a remark
    sa.Column("error", sa.Text, nullable=True),  # the file as a whole was refused, or the load failed
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

content_meta = sa.Table(
    "content_meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

subscriptions = sa.Table(
    "subscriptions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("chat_ref", sa.String(64), nullable=False),  # keyed hash of (channel, chat id)
    sa.Column("chat", sa.Text, nullable=True),  # sealed {"chat_id"}: where warnings go; dropped when stopped
    sa.Column("locale", sa.String(8), nullable=False, server_default="vi"),
    sa.Column("school_id", sa.String(64), nullable=True),  # the directory's id when the school was matched
    sa.Column("school_name", sa.String(255), nullable=True),
    sa.Column("commune_code", sa.String(16), nullable=True),  # the official code when units are imported
    sa.Column("commune_key", sa.String(128), nullable=True),  # the commune's folded name (matching)
    sa.Column("commune_name", sa.String(128), nullable=True),
    sa.Column("status", sa.String(16), nullable=False),  # active | stopped | blocked
    sa.Column("consent_at", UTCDateTime, nullable=False),
    sa.Column("consent_wording", sa.String(32), nullable=False),  # which text the parent agreed to
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("channel", "chat_ref", name="uq_subscriptions_channel_chat"),
    sa.Index("ix_subscriptions_school", "status", "school_id"),
    sa.Index("ix_subscriptions_commune", "status", "commune_code", "commune_key"),
)

broadcasts = sa.Table(
    "broadcasts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("title", sa.String(255), nullable=False),
    sa.Column("text_vi", sa.Text, nullable=False),
    sa.Column("text_en", sa.Text, nullable=True),
    sa.Column("audience", sa.JSON, nullable=False),  # {"kind": "all"|"schools"|"communes", "values": [...]}
    # draft | scheduled | sending | paused | done | cancelled
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("scheduled_at", UTCDateTime, nullable=True),
    sa.Column("started_at", UTCDateTime, nullable=True),
    sa.Column("finished_at", UTCDateTime, nullable=True),
    sa.Column("total", sa.Integer, nullable=False, server_default="0"),  # recipients when it started
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Index("ix_broadcasts_status", "status", "scheduled_at"),
)

broadcast_deliveries = sa.Table(
    "broadcast_deliveries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("broadcast_id", sa.Integer, sa.ForeignKey("broadcasts.id", ondelete="CASCADE"), nullable=False),
    sa.Column("subscription_id", sa.Integer, sa.ForeignKey("subscriptions.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("recipient_ref", sa.String(64), nullable=False),  # the subscription's chat_ref (pull lookups)
    sa.Column("status", sa.String(16), nullable=False),  # pending | claimed | sent | failed | cancelled
    # blocked | invalid_recipient | permanent | gave_up | interrupted | timeout | stopped | expired | cancelled
    sa.Column("failure", sa.String(24), nullable=True),
    sa.Column("detail", sa.String(255), nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UTCDateTime, nullable=False),
    sa.Column("claimed_by", sa.String(32), nullable=True),
    sa.Column("claimed_at", UTCDateTime, nullable=True),
    sa.Column("sent_at", UTCDateTime, nullable=True),
    # One row per recipient and broadcast: nobody can be queued twice for the same warning.
    sa.UniqueConstraint("broadcast_id", "subscription_id", name="uq_broadcast_deliveries_recipient"),
    sa.Index("ix_broadcast_deliveries_queue", "channel", "status", "next_attempt_at", "id"),
    sa.Index("ix_broadcast_deliveries_broadcast", "broadcast_id", "status"),
    sa.Index("ix_broadcast_deliveries_recipient", "recipient_ref", "status"),
)

broadcast_leases = sa.Table(
    "broadcast_leases",
    metadata,
    sa.Column("channel", sa.String(32), primary_key=True),
    sa.Column("owner", sa.String(32), nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
)

# Delivery rows folded into counts by retention (storage/broadcast_retention.py): the console's progress and
# the monthly report add these to the rows still held. Several rows may share a key (one per folding pass).
broadcast_tallies = sa.Table(
    "broadcast_tallies",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("broadcast_id", sa.Integer, sa.ForeignKey("broadcasts.id", ondelete="CASCADE"), nullable=False),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # sent | failed | cancelled (settled rows only)
    sa.Column("failure", sa.String(24), nullable=True),
    sa.Column("sent_hour", UTCDateTime, nullable=True),  # sent_at cut to the hour (reports count by local day)
    sa.Column("count", sa.Integer, nullable=False),
    sa.Index("ix_broadcast_tallies_broadcast", "broadcast_id"),
    sa.Index("ix_broadcast_tallies_sent", "status", "sent_hour"),
)

CONTENT_TABLES = (flow_versions, flow_publications, faq_entries, blocklist_sources, reference_domains,
                  content_imports, content_meta, subscriptions, broadcasts, broadcast_deliveries, broadcast_leases,
                  broadcast_tallies)
