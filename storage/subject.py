"""Data-subject access: everything held about one person (``hotline export-subject``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from storage import audit
from storage.conversations import chat_ref
from storage.crypto import Cipher
from storage.keys import ConversationKey
from storage.schema import blocks, conversations, inbound_messages, tip_attachments, tips
from storage.tips import open_data, reporter_aad


def export_subject(conn: sa.Connection, *, cipher: Cipher, key: ConversationKey, actor: str,
                   now: datetime) -> dict[str, Any]:
    """Open and return the person's conversation, tips and blocks; the export itself is audited."""
    ref = chat_ref(cipher, key)
    out: dict[str, Any] = {"channel": key.channel, "chat_id": key.chat_id, "exported_at": now.isoformat()}
    conv = conn.execute(sa.select(conversations).where(conversations.c.channel == key.channel,
                                                       conversations.c.chat_ref == ref)).mappings().first()
    out["conversation"] = None if conv is None else {
        "locale": conv["locale"], "created_at": str(conv["created_at"]), "updated_at": str(conv["updated_at"]),
        "state": cipher.open_json(conv["state"], aad=f"conversations.state:{ref}"),
    }
    out["stored_replies"] = conn.execute(sa.select(sa.func.count()).select_from(inbound_messages).where(
        inbound_messages.c.channel == key.channel, inbound_messages.c.chat_ref == ref)).scalar_one()
    out["tips"] = []
    for row in conn.execute(sa.select(tips).where(tips.c.reporter_ref == ref).order_by(tips.c.id)).mappings():
        files = conn.execute(sa.select(tip_attachments.c.sha256, tip_attachments.c.mime_type,
                                       tip_attachments.c.size).where(tip_attachments.c.tip_id == row["id"]))
        out["tips"].append({
            "reference": row["reference"], "status": row["status"], "urgent": row["urgent"],
            "created_at": str(row["created_at"]), "report": open_data(cipher, row["id"], row["data"]),
            "reporter": cipher.open_json(row["reporter"], aad=reporter_aad(row["id"])) if row["reporter"] else None,
            "attachments": [dict(f._mapping) for f in files],
        })
    out["blocks"] = [dict(r) for r in conn.execute(sa.select(blocks.c.reason, blocks.c.created_at,
                     blocks.c.expires_at, blocks.c.lifted_by).where(
                     blocks.c.channel == key.channel, blocks.c.chat_ref == ref)).mappings()]
    audit.record(conn, actor=actor, action="export_subject", subject=ref, now=now)
    return out
