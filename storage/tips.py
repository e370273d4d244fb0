"""Tips and their outbox rows, written together in one transaction (no dual writes)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from handlers.messages import Attachment
from storage.schema import outbox, tip_attachments, tip_indicators, tips


@dataclass(frozen=True, slots=True)
class Indicator:
    """Something a tip names that other tips may name too: a caller number, a domain, a bank account."""

    kind: str
    value: str


def format_reference(prefix: str, year: int, tip_id: int) -> str:
    return f"{prefix}-{year}-{tip_id:06d}"


async def create_tip(
    conn: AsyncConnection,
    *,
    channel: str,
    chat_id: str,
    user_id: str,
    urgent: bool,
    data: dict[str, Any],
    attachments: Sequence[Attachment],
    indicators: Iterable[Indicator],
    reporter_key: str,
    sinks: Sequence[str],
    prefix: str,
    now: datetime,
) -> str:
    """Insert a tip with its attachments, indicators and one outbox row per sink. Returns its reference."""
    tip_id = (
        await conn.execute(
            sa.insert(tips)
            .values(channel=channel, chat_id=chat_id, user_id=user_id, urgent=urgent, status="new",
                    data=data, created_at=now)
            .returning(tips.c.id)
        )
    ).scalar_one()
    reference = format_reference(prefix, now.year, tip_id)
    await conn.execute(sa.update(tips).where(tips.c.id == tip_id).values(reference=reference))
    if attachments:
        await conn.execute(
            sa.insert(tip_attachments),
            [
                {"tip_id": tip_id, "kind": a.kind, "mime_type": a.mime_type, "size": a.size,
                 "sha256": a.sha256, "path": a.path, "file_name": a.file_name}
                for a in attachments
            ],
        )
    rows = [{"tip_id": tip_id, "kind": i.kind, "value": i.value, "reporter_key": reporter_key,
             "created_at": now} for i in {(i.kind, i.value): i for i in indicators}.values()]
    if rows:
        await conn.execute(sa.insert(tip_indicators), rows)
    payload = {"reference": reference, "created_at": now.isoformat(), "urgent": urgent, "report": data}
    await conn.execute(
        sa.insert(outbox),
        [
            {"tip_id": tip_id, "sink": sink, "idempotency_key": reference, "payload": payload,
             "status": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now}
            for sink in sinks
        ],
    )
    return reference


async def get_tip(conn: AsyncConnection, *, reference: str) -> dict[str, Any] | None:
    """A tip with its attachments and outbox rows, as plain dicts (for the CLI and tests)."""
    row = (await conn.execute(sa.select(tips).where(tips.c.reference == reference))).mappings().first()
    if row is None:
        return None
    tip = dict(row)
    tip["attachments"] = [
        dict(r) for r in (
            await conn.execute(sa.select(tip_attachments).where(tip_attachments.c.tip_id == row["id"]))
        ).mappings()
    ]
    tip["outbox"] = [
        dict(r) for r in (await conn.execute(sa.select(outbox).where(outbox.c.tip_id == row["id"]))).mappings()
    ]
    return tip


async def list_tips(conn: AsyncConnection, *, limit: int = 50) -> list[dict[str, Any]]:
    result = await conn.execute(
        sa.select(tips.c.reference, tips.c.channel, tips.c.urgent, tips.c.status, tips.c.created_at)
        .order_by(tips.c.id.desc())
        .limit(limit)
    )
    return [dict(r) for r in result.mappings()]
