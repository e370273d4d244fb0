"""Re-encrypt every sealed value under the current key (``hotline keys rotate``).

Runs in small batches, each its own transaction, so a running bot keeps working throughout: old keys
still open rows not yet converted, and the rows converted are readable by any process that knows the new
key (processes reload the key file when they meet an unknown key id).
"""

from __future__ import annotations

import base64
from pathlib import Path

import sqlalchemy as sa

from storage.crypto import Cipher
from storage.indicators import reseal_batch as reseal_indicators
from storage.perms import write_private
from storage.schema import conversations, inbound_messages, tips
from storage.tips import data_aad, reporter_aad


def _reseal(cipher: Cipher, token: str | None, aad: str) -> str | None:
    if not token or cipher.token_key_id(token) == cipher.current:
        return None
    # As bytes: a value need not be text (compressed dedupe records, storage.conversations).
    return base64.b64encode(cipher.seal(cipher.open(base64.b64decode(token), aad=aad), aad=aad)).decode()


def rekey_batch(conn: sa.Connection, *, cipher: Cipher, after: dict[str, int], batch: int = 200) -> int:
    """Convert up to ``batch`` rows of each table past the ids in ``after``; returns values re-sealed."""
    changed = 0
    rows = conn.execute(sa.select(conversations.c.id, conversations.c.chat_ref, conversations.c.state,
                                  conversations.c.who).where(conversations.c.id > after.get("conv", 0))
                        .order_by(conversations.c.id).limit(batch)).all()
    for r in rows:
        state = _reseal(cipher, r.state, f"conversations.state:{r.chat_ref}")
        who = _reseal(cipher, r.who, f"conversations.who:{r.chat_ref}")
        if state or who:
            conn.execute(sa.update(conversations).where(conversations.c.id == r.id)
                         .values(state=state or r.state, who=who or r.who))
            changed += bool(state) + bool(who)
        after["conv"] = r.id
    tip_rows = conn.execute(sa.select(tips.c.id, tips.c.data, tips.c.reporter).where(tips.c.id > after.get("tip", 0))
                            .order_by(tips.c.id).limit(batch)).all()
    for t in tip_rows:
        data = _reseal(cipher, t.data, data_aad(t.id))
        reporter = _reseal(cipher, t.reporter, reporter_aad(t.id))
        if data or reporter:
            conn.execute(sa.update(tips).where(tips.c.id == t.id)
                         .values(data=data or t.data, reporter=reporter or t.reporter))
            changed += bool(data) + bool(reporter)
        after["tip"] = t.id
    return changed + reseal_indicators(conn, cipher=cipher, after=after, batch=batch)


def rekey_replies(conn: sa.Connection, *, cipher: Cipher) -> int:
    changed = 0
    for r in conn.execute(sa.select(inbound_messages)).all():
        replies = _reseal(cipher, r.replies, f"inbound_messages.replies:{r.chat_ref}:{r.message_id}")
        if replies:
            conn.execute(sa.update(inbound_messages).where(
                inbound_messages.c.channel == r.channel, inbound_messages.c.chat_ref == r.chat_ref,
                inbound_messages.c.message_id == r.message_id).values(replies=replies))
            changed += 1
    return changed


def sealed_files(data_dir: Path) -> list[Path]:
    """Every attachment file, including screenshots of reports not yet submitted."""
    return sorted((data_dir / "attachments").glob("*/*.sealed"))


def rekey_file(cipher: Cipher, path: Path) -> bool:
    sha256 = path.stem
    blob = path.read_bytes()
    if cipher.key_id(blob) == cipher.current:
        return False
    aad = f"attachment:{sha256}"
    tmp = path.with_suffix(".rekey")
    write_private(tmp, cipher.seal(cipher.open(blob, aad=aad), aad=aad))
    tmp.replace(path)
    return True

