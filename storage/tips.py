"""Tips and their outbox rows, written together in one transaction (no dual writes)."""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from storage import cluster_counts
from storage.cases import CaseTargets, open_case
from storage.conversations import chat_ref
from storage.crypto import Cipher
from storage.db import signal
from storage.indicators import rows as indicator_rows
from storage.keys import Attachment, ConversationKey
from storage.schema import outbox, tip_attachments, tip_indicators, tips


@dataclass(frozen=True, slots=True)
class Indicator:
    """Something a tip names that other tips may name too: a caller number, a domain, a bank account."""

    kind: str
    value: str


# Built once: statement construction costs more than execution on SQLite (see storage/conversations.py).
_INSERT_TIP = sa.insert(tips).returning(tips.c.id)
_SET_REFERENCE = sa.update(tips).where(tips.c.id == sa.bindparam("tip_id")).values(
    reference=sa.bindparam("ref"), data=sa.bindparam("sealed"), reporter=sa.bindparam("sealed_reporter"))
_INSERT_ATTACHMENT = sa.insert(tip_attachments)
_INSERT_INDICATOR = sa.insert(tip_indicators)
_INSERT_OUTBOX = sa.insert(outbox)
OUTBOX_TOPIC = "outbox"  # raised by a unit of work that wrote outbox rows due now


def format_reference(prefix: str, year: int, tip_id: int) -> str:
    return f"{prefix}-{year}-{tip_id:06d}"


def data_aad(tip_id: int) -> str:
    return f"tips.data:{tip_id}"


def reporter_aad(tip_id: int) -> str:
    return f"tips.reporter:{tip_id}"


# A report is kept for years: compressed before sealing it takes ~40% less (bench/bench_chat.py's storage per
# report). A compressed value starts with this byte; older values are the JSON itself ("{…").
_PACKED = b"\x01"


def open_data(cipher: Cipher, tip_id: int, sealed: str) -> dict[str, Any]:
    """A tip's report (slots, consent, locale) from its sealed column."""
    raw = cipher.open(base64.b64decode(sealed), aad=data_aad(tip_id))
    if raw[:1] == _PACKED:
        raw = zlib.decompress(raw[1:])
    return dict(json.loads(raw.decode()))


def seal_data(cipher: Cipher, tip_id: int, data: dict[str, Any]) -> str:
    raw = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    return base64.b64encode(cipher.seal(_PACKED + zlib.compress(raw, 6), aad=data_aad(tip_id))).decode()


def create_tip(
    conn: sa.Connection,
    *,
    key: ConversationKey,
    user_id: str,
    urgent: bool,
    data: dict[str, Any],
    attachments: Sequence[Attachment],
    indicators: Iterable[Indicator],
    sinks: Sequence[str],
    prefix: str,
    now: datetime,
    cipher: Cipher,
    kind: str = "report",
    targets: CaseTargets | None = None,
    origin: str | None = None,
) -> str:
    """Insert a tip with its case, attachments, indicators and one outbox row per sink. Returns its reference.

    The report and the reporter's ids are sealed; only keyed hashes of the chat are stored in clear.
    ``kind`` is report or handoff ("Gặp cán bộ"); ``origin`` is the reporter's client address when the channel
    knows it (only its keyed hash is kept, to count distinct reporters).
    """
    ref = chat_ref(cipher, key)
    tip_id = conn.execute(_INSERT_TIP, {"channel": key.channel, "reporter_ref": ref, "urgent": urgent,
                                        "status": "new", "data": "", "created_at": now}).scalar_one()
    reference = format_reference(prefix, now.year, tip_id)
    conn.execute(_SET_REFERENCE, {
        "tip_id": tip_id, "ref": reference, "sealed": seal_data(cipher, tip_id, data),
        "sealed_reporter": cipher.seal_json({"chat_id": key.chat_id, "user_id": user_id}, aad=reporter_aad(tip_id)),
    })
    reporter_key = cipher.blind_index(f"{key.channel}:{key.chat_id}", purpose="reporter")
    if attachments:
        conn.execute(
            _INSERT_ATTACHMENT,
            [
                {"tip_id": tip_id, "kind": a.kind, "mime_type": a.mime_type, "size": a.size,
                 "sha256": a.sha256, "path": a.path, "file_name": a.file_name}
                for a in attachments
            ],
        )
    unique = list({(i.kind, i.value): i for i in indicators}.values())
    origin_key = cipher.blind_index(origin, purpose="origin") if origin else None
    # Matched by blind index, shown from the sealed value: no indicator is stored in clear.
    rows = indicator_rows(cipher, tip_id=tip_id, pairs=[(i.kind, i.value) for i in unique],
                          reporter_key=reporter_key, origin_key=origin_key, created_at=now)
    if rows:
        conn.execute(_INSERT_INDICATOR, rows)
        cluster_counts.add(conn, tip_id=tip_id, keys=[(r["kind"], r["value_key"]) for r in rows],
                           reporter_key=reporter_key, created_at=now)
    open_case(conn, tip_id=tip_id, reference=reference, kind=kind, channel=key.channel, urgent=urgent,
              slots=data.get("slots") or {}, indicators=[(i.kind, i.value) for i in unique], cipher=cipher,
              now=now, targets=targets or CaseTargets())
    # The payload names the tip only; the forwarder builds what each sink receives from the tip itself,
    # so no personal data sits in the outbox in clear.
    payload = {"reference": reference, "tip_id": tip_id}
    conn.execute(
        _INSERT_OUTBOX,
        [
            {"tip_id": tip_id, "sink": sink, "idempotency_key": reference, "payload": payload,
             "status": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now}
            for sink in sinks
        ],
    )
    signal(conn, OUTBOX_TOPIC)  # wakes the forwarder once this commits (Database.on_commit)
    return reference


def get_tip(conn: sa.Connection, *, reference: str, cipher: Cipher) -> dict[str, Any] | None:
    """A tip with its attachments and outbox rows, as plain dicts (for the CLI and tests)."""
    row = (conn.execute(sa.select(tips).where(tips.c.reference == reference))).mappings().first()
    if row is None:
        return None
    tip = dict(row)
    tip["data"] = open_data(cipher, row["id"], row["data"])
    tip["reporter"] = cipher.open_json(row["reporter"], aad=reporter_aad(row["id"])) if row["reporter"] else None
    tip["attachments"] = [
        dict(r) for r in (
            conn.execute(sa.select(tip_attachments).where(tip_attachments.c.tip_id == row["id"]))
        ).mappings()
    ]
    tip["outbox"] = [
        dict(r) for r in (conn.execute(sa.select(outbox).where(outbox.c.tip_id == row["id"]))).mappings()
    ]
    return tip


def list_tips(conn: sa.Connection, *, limit: int = 50) -> list[dict[str, Any]]:
    result = conn.execute(
        sa.select(tips.c.reference, tips.c.channel, tips.c.urgent, tips.c.status, tips.c.created_at)
        .order_by(tips.c.id.desc())
        .limit(limit)
    )
    return [dict(r) for r in result.mappings()]
