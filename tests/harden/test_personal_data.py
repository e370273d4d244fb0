"""Issue 16, points 9, 12, 13 and 15: personal data in logs, on disk and in files nobody needs."""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import uvicorn
from pydantic import ValidationError

from bot.channels.http_api import MessageIn
from bot.logsetup import UVICORN_LOGGING, setup_logging
from handlers.messages import ConversationKey
from storage import blocks
from storage import conversations as repo
from storage.conversations import chat_ref
from storage.crypto import Cipher
from storage.files import store_attachment
from storage.retention import run_retention
from storage.schema import conversations
from tests.harden.conftest import PNG, attachment_files, hotline

SECRETS = ("918273", "4111 1111 1111 1111", "0977123456")
BODY = {"user_id": "a b", "text": "mã OTP là 918273, thẻ 4111 1111 1111 1111, sđt 0977123456"}


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "logs" / "hotline.log"
    setup_logging("INFO", str(path))
    yield path
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_hotline", False)]:
        root.removeHandler(handler)
        handler.close()


def test_uvicorn_tracebacks_pass_the_redactor_and_carry_no_request_body(log_file: Path) -> None:
    """Regression: uvicorn's own logger printed `'input': 'mã OTP là 918273, thẻ 4111 …, sđt 0977…'`."""
    uvicorn.Config(app=lambda: None, **UVICORN_LOGGING).configure_logging()  # as `hotline serve` starts it
    try:
        MessageIn.model_validate(BODY)
    except ValidationError:
        logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
    try:
        raise ValueError(f"bad input {BODY['text']}")
    except ValueError:
        logging.getLogger("uvicorn.error").exception("another")
    logging.getLogger("uvicorn.access").info("GET /chat?otp=918273")
    for handler in logging.getLogger().handlers:
        handler.flush()
    text = log_file.read_text(encoding="utf-8")
    assert "Traceback" in text and "ValidationError" in text and "uvicorn.error" in text
    for secret in SECRETS[:2]:
        assert secret not in text
    assert "0977123456" not in text.split("another")[0]  # the validation error's input is not logged at all
    assert not logging.getLogger("uvicorn.error").handlers  # nothing bypasses our handlers


def test_log_file_is_private(log_file: Path) -> None:
    logging.getLogger("x").warning("hello")
    assert stat.S_IMODE(log_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(log_file.parent.stat().st_mode) == 0o700


async def test_data_files_are_owner_only_from_creation(tmp_path: Path) -> None:
    """Regression: the database, WAL, key file and data directory were 0644 / 0755."""
    old = os.umask(0o022)  # a permissive umask, as a library user may have
    try:
        async with hotline(tmp_path) as h, h.client() as client:
            await client.post("/api/v1/messages", json={"user_id": "u1", "text": "menu", "attachments": [
                {"content_base64": base64.b64encode(PNG).decode()}]})
            files = [tmp_path / "hotline.db", tmp_path / "hotline.db-wal", tmp_path / "keys.json",
                     *attachment_files(tmp_path)]
            dirs = [tmp_path / "data", tmp_path / "data" / "attachments", *{p.parent for p in files[3:]}]
            assert files[3:]  # the attachment was stored
            for path in files:
                assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
            for path in dirs:
                assert stat.S_IMODE(path.stat().st_mode) == 0o700, path
    finally:
        os.umask(old)


async def test_uploads_are_refused_before_a_byte_is_written_when_blocked(tmp_path: Path) -> None:
    """Regression: a blocked session stored 30 × 1 MB files, each answered 200."""
    async with hotline(tmp_path) as h, h.client() as client:
        first = await client.post("/chat/api/messages", json={"id": "abcdefgh00", "text": "/start"})
        session = first.headers["set-cookie"].split(";")[0].split("=", 1)[1]
        now = datetime.now(UTC)
        ref = chat_ref(h.runtime.cipher, ConversationKey("web", session))
        await h.runtime.db.run(blocks.block, channel="web", chat_ref=ref, reason="test", now=now,
                               until=now + timedelta(hours=1))
        h.runtime.engine.blocks.add("web", ref, now + timedelta(hours=1))  # as the engine records its own blocks
        for i in range(5):
            r = await client.post("/chat/api/upload", files={"file": ("a.png", PNG + bytes([i]) * 1000, "image/png")},
                                  data={"id": f"abcdefgh{i + 10}"})
            assert r.status_code == 200
        api = [await client.post("/api/v1/messages", json={"user_id": "u9", "text": "x", "attachments": [
            {"content_base64": base64.b64encode(PNG + bytes([i]) * 10).decode()}]}) for i in range(1)]
        assert api[0].status_code == 200
    assert len(attachment_files(tmp_path)) == 1  # only the API user's: nothing of the blocked session


async def test_uploads_over_the_rate_are_not_written(tmp_path: Path) -> None:
    async with hotline(tmp_path, security={"user_burst": 2, "user_per_minute": 1}) as h, h.client() as client:
        for i in range(6):
            await client.post("/api/v1/messages", json={"user_id": "u1", "message_id": f"m{i}", "attachments": [
                {"content_base64": base64.b64encode(PNG + bytes([i]) * 10).decode()}]})
    assert len(attachment_files(tmp_path)) == 2  # the two within the burst; none of the four refused


async def test_a_rejected_second_attachment_leaves_no_first_file(tmp_path: Path) -> None:
    async with hotline(tmp_path) as h, h.client() as client:
        r = await client.post("/api/v1/messages", json={"user_id": "u1", "attachments": [
            {"content_base64": base64.b64encode(PNG).decode()},
            {"content_base64": base64.b64encode(b"MZ..").decode()}]})
    assert r.status_code == 422 and attachment_files(tmp_path) == []


async def test_retention_removes_uploads_of_drafts_never_filed_and_of_forgotten_chats(tmp_path: Path) -> None:
    """Regression: screenshots of a conversation that never became a tip stayed forever ("files deleted: 0")."""
    async with hotline(tmp_path) as h, h.client() as client:
        for user in ("kept", "forgets", "idle"):
            await client.post("/api/v1/messages", json={"user_id": user, "text": "báo cáo"})
            await client.post("/api/v1/messages", json={"user_id": user, "attachments": [
                {"content_base64": base64.b64encode(PNG + user.encode()).decode()}]})
        assert len(attachment_files(tmp_path)) == 3
        rt = h.runtime
        await rt.db.run(_keep_in_draft, rt.cipher, ConversationKey("api", "kept"), PNG + b"kept")
        for text in ("xóa dữ liệu của tôi", "có"):  # "forget me", confirmed
            await client.post("/api/v1/messages", json={"user_id": "forgets", "text": text})
        idle_ref = chat_ref(rt.cipher, ConversationKey("api", "idle"))
        await rt.db.run(lambda c: c.execute(sa.update(conversations).where(conversations.c.chat_ref == idle_ref)
                                            .values(updated_at=datetime.now(UTC) - timedelta(days=40))))
        later = datetime.now(UTC) + timedelta(hours=1)  # past the grace period of a fresh upload
        report = await rt.db.run(run_retention, cipher=rt.cipher, now=later, closed_tip_days=180,
                                 conversation_days=30, data_dir=rt.data_dir)
        forgotten = await rt.db.run(lambda c: c.execute(sa.select(sa.func.count()).select_from(conversations)
                                                        .where(conversations.c.chat_ref == idle_ref)).scalar_one())
    assert forgotten == 0
    left = attachment_files(tmp_path)
    assert report.files_deleted == 2 and len(left) == 1  # only the live draft's screenshot stays


def _keep_in_draft(conn: sa.Connection, cipher: Cipher, key: ConversationKey, data: bytes) -> None:
    """The draft holds the screenshot in its slot, as the report flow's screenshot step stores it."""
    conv = repo.lock_and_load(conn, key=key, user_id=key.chat_id, locale="vi", now=datetime.now(UTC), cipher=cipher)
    state = dict(conv.state)
    state.setdefault("slots", {})["screenshots"] = [{"sha256": hashlib.sha256(data).hexdigest(), "kind": "photo"}]
    repo.save(conn, conversation=conv, state=state, locale="vi", now=datetime.now(UTC), cipher=cipher)


def test_a_fresh_upload_is_not_swept_before_its_turn_commits(tmp_path: Path) -> None:
    from storage.filesweep import sweep_orphans
    from tests.chat import TEST_CIPHER

    store_attachment(tmp_path, PNG, cipher=TEST_CIPHER)
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    from storage.schema import metadata

    metadata.create_all(engine)
    with engine.begin() as conn:
        assert sweep_orphans(conn, data_dir=tmp_path, cipher=TEST_CIPHER, now=datetime.now(UTC)) == 0
        assert sweep_orphans(conn, data_dir=tmp_path, cipher=TEST_CIPHER,
                             now=datetime.now(UTC) + timedelta(hours=1)) == 1
    engine.dispose()
