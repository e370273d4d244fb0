"""Telegram onto the one channel layer: its journal, queue, leases and polling offset move to the shared tables.

Revision ID: 0015_telegram_channels
Revises: 0010_channels

Every row of ``telegram_updates``, ``telegram_outgoing``, ``telegram_chat_leases`` and ``telegram_state`` is
copied into ``channel_events`` / ``channel_outgoing`` / ``channel_leases`` / ``channel_state`` under channel
"telegram", and the old tables are dropped in the same transaction, so each row is copied exactly once and no
process can go on writing where nobody reads. Processed updates come along too (without content): they are
how a re-sent update is recognised. Pending updates and calls keep their order (inserted one by one in
update-id / queue order) and their sealed payload as it is — a migration has no keys — marked with the prefix
``storage.channel_store.LEGACY_TELEGRAM`` so the store opens them with the AAD they were sealed under.
``telegram_tip_actions`` (the officers' tip cards) is not channel machinery and stays.

Downgrade moves them back, but refuses while Telegram work sealed for the shared tables is still pending (the
old code could not open it): let ``hotline serve`` finish it first.
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_telegram_channels"
down_revision = "0010_channels"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
CHANNEL = "telegram"
LEGACY = "tg0003:"  # = storage.channel_store.LEGACY_TELEGRAM (tests/e2e/telegram/test_migration.py checks)

# The tables as this migration knows them, on their own metadata: the application's may change later.
_meta = sa.MetaData()
old_updates = sa.Table(
    "telegram_updates", _meta,
    sa.Column("update_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("chat_ref", sa.String(64)), sa.Column("payload", sa.Text), sa.Column("received_at", TS),
    sa.Column("processed_at", TS), sa.Column("attempts", sa.Integer), sa.Column("next_attempt_at", TS),
    sa.Column("last_error", sa.Text))
old_outgoing = sa.Table(
    "telegram_outgoing", _meta,
    sa.Column("id", sa.Integer, primary_key=True), sa.Column("chat_ref", sa.String(64)),
    sa.Column("update_id", sa.BigInteger), sa.Column("payload", sa.Text), sa.Column("status", sa.String(16)),
    sa.Column("attempts", sa.Integer), sa.Column("not_before", TS), sa.Column("last_error", sa.Text),
    sa.Column("created_at", TS))
old_leases = sa.Table(
    "telegram_chat_leases", _meta,
    sa.Column("chat_ref", sa.String(64), primary_key=True), sa.Column("owner", sa.String(32)),
    sa.Column("expires_at", TS))
old_state = sa.Table(
    "telegram_state", _meta,
    sa.Column("key", sa.String(64), primary_key=True), sa.Column("value", sa.String(255)),
    sa.Column("updated_at", TS))
events = sa.Table(
    "channel_events", _meta,
    sa.Column("id", sa.Integer, primary_key=True), sa.Column("channel", sa.String(32)),
    sa.Column("event_id", sa.String(128)), sa.Column("chat_ref", sa.String(64)), sa.Column("payload", sa.Text),
    sa.Column("received_at", TS), sa.Column("processed_at", TS), sa.Column("attempts", sa.Integer),
    sa.Column("next_attempt_at", TS), sa.Column("last_error", sa.Text))
outgoing = sa.Table(
    "channel_outgoing", _meta,
    sa.Column("id", sa.Integer, primary_key=True), sa.Column("channel", sa.String(32)),
    sa.Column("chat_ref", sa.String(64)), sa.Column("event_id", sa.String(128)), sa.Column("payload", sa.Text),
    sa.Column("status", sa.String(16)), sa.Column("attempts", sa.Integer), sa.Column("not_before", TS),
    sa.Column("last_error", sa.Text), sa.Column("created_at", TS))
leases = sa.Table(
    "channel_leases", _meta,
    sa.Column("channel", sa.String(32), primary_key=True), sa.Column("chat_ref", sa.String(64), primary_key=True),
    sa.Column("owner", sa.String(32)), sa.Column("expires_at", TS))
state = sa.Table(
    "channel_state", _meta,
    sa.Column("channel", sa.String(32), primary_key=True), sa.Column("key", sa.String(128), primary_key=True),
    sa.Column("value", sa.Text), sa.Column("updated_at", TS))

_EVENT_COLS = ("received_at", "processed_at", "attempts", "next_attempt_at", "last_error")
_OUT_COLS = ("status", "attempts", "not_before", "last_error", "created_at")


def _marked(payload: str | None) -> str | None:
    return None if payload is None else LEGACY + payload


def _unmarked(payload: str | None) -> str | None:
    return None if payload is None else payload.removeprefix(LEGACY)


def upgrade() -> None:
    conn = op.get_bind()
    ch = sa.literal(CHANNEL, sa.String)
    u = old_updates.c
    # Processed updates carry no content and need no order: one statement.
    conn.execute(events.insert().from_select(
        ["channel", "event_id", "chat_ref", "payload", *_EVENT_COLS],
        sa.select(ch, sa.cast(u.update_id, sa.String), u.chat_ref, sa.null(), *(u[c] for c in _EVENT_COLS))
        .where(u.processed_at.is_not(None))))
    # Pending ones one by one in update order: a chat's events are processed in id (arrival) order.
    for row in conn.execute(sa.select(old_updates).where(u.processed_at.is_(None)).order_by(u.update_id)).all():
        conn.execute(events.insert().values(channel=CHANNEL, event_id=str(row.update_id), chat_ref=row.chat_ref,
                                            payload=_marked(row.payload), **{c: row._mapping[c] for c in _EVENT_COLS}))
    for row in conn.execute(sa.select(old_outgoing).order_by(old_outgoing.c.id)).all():
        conn.execute(outgoing.insert().values(
            channel=CHANNEL, chat_ref=row.chat_ref, payload=_marked(row.payload),
            event_id=None if row.update_id is None else str(row.update_id), **{c: row._mapping[c] for c in _OUT_COLS}))
    conn.execute(leases.insert().from_select(
        ["channel", "chat_ref", "owner", "expires_at"],
        sa.select(ch, old_leases.c.chat_ref, old_leases.c.owner, old_leases.c.expires_at)))
    conn.execute(state.insert().from_select(
        ["channel", "key", "value", "updated_at"],
        sa.select(ch, old_state.c.key, old_state.c.value, old_state.c.updated_at)))
    for table in ("telegram_state", "telegram_chat_leases", "telegram_outgoing", "telegram_updates"):
        op.drop_table(table)


def _refuse_unopenable(conn: sa.Connection) -> None:
    new_sealed = sa.or_(events.c.payload.is_(None), ~events.c.payload.startswith(LEGACY))
    waiting = conn.execute(sa.select(sa.func.count()).select_from(events).where(
        events.c.channel == CHANNEL, events.c.processed_at.is_(None), new_sealed)).scalar_one()
    queued = conn.execute(sa.select(sa.func.count()).select_from(outgoing).where(
        outgoing.c.channel == CHANNEL, outgoing.c.status == "pending",
        sa.or_(outgoing.c.payload.is_(None), ~outgoing.c.payload.startswith(LEGACY)))).scalar_one()
    if waiting or queued:
        raise RuntimeError(
            f"cannot downgrade 0015_telegram_channels: {waiting} Telegram update(s) and {queued} message(s) are "
            "still waiting, sealed in a form the older code cannot open; run `hotline serve` until they are "
            "done, then downgrade")


def _create_old_tables() -> None:
    # As 0003_telegram created them (names of keys and indexes included).
    op.create_table(
        "telegram_updates",
        sa.Column("update_id", sa.BigInteger, nullable=False, autoincrement=False),
        sa.Column("chat_ref", sa.String(64), nullable=False),
        sa.Column("payload", sa.Text, nullable=True),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("processed_at", TS, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("update_id", name="pk_telegram_updates"),
    )
    op.create_index("ix_telegram_updates_pending", "telegram_updates", ["processed_at", "chat_ref", "update_id"])
    op.create_index("ix_telegram_updates_received_at", "telegram_updates", ["received_at"])
    op.create_table(
        "telegram_outgoing",
        sa.Column("id", sa.Integer, nullable=False, autoincrement=True),
        sa.Column("chat_ref", sa.String(64), nullable=False),
        sa.Column("update_id", sa.BigInteger, nullable=True),
        sa.Column("payload", sa.Text, nullable=True),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("not_before", TS, nullable=False),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_telegram_outgoing"),
    )
    op.create_index("ix_telegram_outgoing_pending", "telegram_outgoing", ["status", "chat_ref", "id"])
    op.create_table(
        "telegram_chat_leases",
        sa.Column("chat_ref", sa.String(64), nullable=False),
        sa.Column("owner", sa.String(32), nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("chat_ref", name="pk_telegram_chat_leases"),
    )
    op.create_table(
        "telegram_state",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("value", sa.String(255), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_telegram_state"),
    )


def downgrade() -> None:
    conn = op.get_bind()
    _refuse_unopenable(conn)
    _create_old_tables()
    e, o = events.c, outgoing.c
    for row in conn.execute(sa.select(events).where(e.channel == CHANNEL).order_by(e.id)).all():
        if not row.event_id.isdigit():
            continue  # not an update id (cannot be one of Telegram's): nothing the old code could use
        conn.execute(old_updates.insert().values(update_id=int(row.event_id), chat_ref=row.chat_ref,
                                                 payload=_unmarked(row.payload),
                                                 **{c: row._mapping[c] for c in _EVENT_COLS}))
    for row in conn.execute(sa.select(outgoing).where(o.channel == CHANNEL).order_by(o.id)).all():
        update_id = int(row.event_id) if row.event_id and row.event_id.isdigit() else None
        conn.execute(old_outgoing.insert().values(chat_ref=row.chat_ref, update_id=update_id,
                                                  payload=_unmarked(row.payload),
                                                  **{c: row._mapping[c] for c in _OUT_COLS}))
    conn.execute(old_leases.insert().from_select(
        ["chat_ref", "owner", "expires_at"],
        sa.select(leases.c.chat_ref, leases.c.owner, leases.c.expires_at).where(leases.c.channel == CHANNEL)))
    # Only what the old code kept there (its polling offset); Telegram has no other state yet.
    conn.execute(old_state.insert().from_select(
        ["key", "value", "updated_at"],
        sa.select(state.c.key, state.c.value, state.c.updated_at)
        .where(state.c.channel == CHANNEL, sa.func.length(state.c.key) <= 64, sa.func.length(state.c.value) <= 255)))
    for table, channel_col in ((events, e.channel), (outgoing, o.channel), (leases, leases.c.channel),
                               (state, state.c.channel)):
        conn.execute(sa.delete(table).where(channel_col == CHANNEL))
