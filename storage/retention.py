"""Retention: keep personal data only as long as its purpose needs (Law 91/2025, Decree 356/2025).

Idle conversations are deleted; closed tips lose their personal data (reporter ids, contact phone, free
text, screenshots) while what statistics need stays (channel, role, pretext, asks, amounts, verdicts).
Ended warning subscriptions are deleted, and finished broadcasts lose their per-recipient rows (their counts
stay): see :mod:`storage.broadcast_retention`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from storage import audit, cluster_counts, notices, transcript
from storage import broadcast_retention as broadcast_data
from storage.cases import forget_terms
from storage.conversations import REPLY_RETRY_WINDOW
from storage.crypto import Cipher
from storage.filesweep import sweep_orphans
from storage.schema import conversations, inbound_messages, tip_attachments, tip_closures, tips
from storage.tips import open_data, seal_data
from storage.workflow_schema import tip_notes

# Slots that can identify or describe the reporter; everything else in a report is about the scam.
PERSONAL_SLOTS = frozenset({"contact_phone", "message_text", "bank", "commune", "screenshots"})


@dataclass(frozen=True)
class RetentionReport:
    conversations_deleted: int
    dedupe_records_deleted: int
    tips_anonymised: int
    files_deleted: int
    subscriptions_deleted: int  # stopped or blocked warning subscriptions, past retention.subscription_days
    broadcast_recipients_dropped: int  # delivery rows of finished broadcasts, folded into their counts


def anonymise_tip(conn: sa.Connection, *, cipher: Cipher, tip_id: int, sealed: str, now: datetime) -> list[str]:
    """Strip a tip's personal data in place; returns the paths of attachment files no tip uses any more."""
    data = open_data(cipher, tip_id, sealed)
    slots = {k: v for k, v in dict(data.get("slots", {})).items() if k not in PERSONAL_SLOTS}
    data.update(slots=slots, anonymised_at=now.isoformat(), consent={"contact": False})
    conn.execute(sa.update(tips).where(tips.c.id == tip_id).values(
        data=seal_data(cipher, tip_id, data), reporter=None, reporter_ref=secrets.token_hex(32)))
    # Notes may quote or name the parent; the search index holds hashes of their words; the indicator rows'
    # reporter and address hashes could be recomputed from a chat id. The indicators themselves (the
    # scammer's number, domain, account) and the case's facets stay for clusters and statistics.
    conn.execute(sa.delete(tip_notes).where(tip_notes.c.tip_id == tip_id))
    forget_terms(conn, tip_id=tip_id)
    # What the police and the parent said to each other after filing, and anything still to be sent to them.
    transcript.forget_tip(conn, tip_id=tip_id)
    notices.forget_tip(conn, tip_id=tip_id)
    cluster_counts.replace_reporter(conn, tip_id=tip_id, reporter_key=secrets.token_hex(32))
    files = conn.execute(sa.select(tip_attachments.c.sha256, tip_attachments.c.path)
                         .where(tip_attachments.c.tip_id == tip_id)).all()
    conn.execute(sa.delete(tip_attachments).where(tip_attachments.c.tip_id == tip_id))
    orphaned = []
    for sha, path in files:
        still_used = conn.execute(sa.select(sa.func.count()).select_from(tip_attachments)
                                  .where(tip_attachments.c.sha256 == sha)).scalar_one()
        if not still_used and path:
            orphaned.append(path)
    return orphaned


def run_retention(conn: sa.Connection, *, cipher: Cipher, now: datetime, closed_tip_days: int,
                  conversation_days: int, open_tip_days: int | None = None,
                  data_dir: Path | None = None, subscription_days: int = broadcast_data.SUBSCRIPTION_DAYS,
                  broadcast_recipient_days: int = broadcast_data.RECIPIENT_DAYS) -> RetentionReport:
    """One pass; safe to repeat. Runs as a unit of work (``Database.run``).

    Closed tips lose their personal data ``closed_tip_days`` after closing; tips nobody closed lose it
    ``open_tip_days`` after they were filed (the case stays open, its report anonymised). With ``data_dir``,
    uploads no tip and no live conversation refers to are deleted too. Warning subscriptions that ended
    (stopped, blocked) go ``subscription_days`` after they ended; broadcasts finished ``broadcast_recipient_days``
    ago keep their counts but no row per recipient.
    """
    idle_before = now - timedelta(days=conversation_days)
    convs = conn.execute(sa.delete(conversations).where(conversations.c.updated_at < idle_before)).rowcount
    # Replies kept for retries live only for the retry window, however long the conversation lives.
    retried_before = now - REPLY_RETRY_WINDOW
    dedupe = conn.execute(sa.delete(inbound_messages).where(inbound_messages.c.created_at < retried_before)).rowcount
    closed_before = now - timedelta(days=closed_tip_days)
    due = conn.execute(
        sa.select(tips.c.id, tips.c.reference, tips.c.data)
        .join(tip_closures, tip_closures.c.tip_id == tips.c.id)
        .where(tip_closures.c.closed_at < closed_before, tip_closures.c.anonymised_at.is_(None))
    ).all()
    if open_tip_days is not None:
        filed_before = now - timedelta(days=open_tip_days)
        stale = conn.execute(
            sa.select(tips.c.id, tips.c.reference, tips.c.data)
            .where(tips.c.created_at < filed_before, tips.c.reporter_ref.is_not(None),
                   ~sa.exists().where(tip_closures.c.tip_id == tips.c.id))).all()
        for row in stale:  # a closure row marks them done, so the next pass skips them
            conn.execute(sa.insert(tip_closures).values(tip_id=row.id, closed_at=now))
        due = [*due, *stale]
    files: list[str] = []
    for row in due:
        files += anonymise_tip(conn, cipher=cipher, tip_id=row.id, sealed=row.data, now=now)
        conn.execute(sa.update(tip_closures).where(tip_closures.c.tip_id == row.id).values(anonymised_at=now))
        audit.record(conn, actor="system", action="retention.anonymise", subject=row.reference or str(row.id),
                     now=now)
    deleted = 0
    for path in files:  # after the rows: a crash here leaves a sealed orphan file, never a dangling row
        try:
            Path(path).unlink()
            deleted += 1
        except FileNotFoundError:
            pass
    if data_dir is not None:  # uploads of drafts never filed, forgotten or expired (storage/filesweep.py)
        deleted += sweep_orphans(conn, data_dir=data_dir, cipher=cipher, now=now)
    recipients = broadcast_data.drop_finished_recipients(conn, now=now, days=broadcast_recipient_days)
    ended = broadcast_data.delete_ended_subscriptions(conn, now=now, days=subscription_days)
    report = RetentionReport(convs, dedupe, len(due), deleted, ended, recipients)
    audit.record(conn, actor="system", action="retention.run", subject="-", now=now, detail=repr(report))
    return report


def close_tip(conn: sa.Connection, *, tip_id: int, now: datetime, outcome: str = "confirmed_scam") -> None:
    """Close a tip as the system (tests, imports); officers close through :func:`storage.workflow.set_status`."""
    from storage.workflow import SYSTEM, set_status

    set_status(conn, viewer=SYSTEM, tip_id=tip_id, status="closed", outcome=outcome, now=now)
