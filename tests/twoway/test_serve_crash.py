"""``hotline serve`` as shipped (the delivery worker and the Telegram push channel wired by the CLI), killed with
SIGKILL while a question is in flight to Telegram, then started again: the parent gets it at most once, and
what was still waiting goes out after the restart. Also: the HTTP API gets its notices with its next request."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from starlette.requests import Request

from handlers import handoff_ops
from handlers.handoff_ops import Reach, Talk
from storage import notices
from storage.crypto import cipher_from_file
from storage.db import Database
from storage.schema import tips
from storage.workflow_schema import tip_cases
from tests.e2e.servers import HOTLINE, env_for, free_port
from tests.e2e.telegram.fakebot import FakeBotAPI
from tests.e2e.telegram.people import Person, texts
from tests.twoway.conftest import SUPERVISOR, reference_in

HANG = "Câu hỏi treo"


class HangingBotAPI(FakeBotAPI):
    """The fake Bot API, where a message containing ``HANG`` is received but never answered (until released)."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self._methods["sendMessage"] = self._maybe_hang

    async def _maybe_hang(self, params: dict[str, Any], request: Request | None = None) -> tuple[int, Any]:
        if HANG in str(params.get("text", "")):
            await asyncio.to_thread(self.release.wait)  # (set from the test's thread)
            return 500, "Internal Server Error: too late, the caller is gone"
        return await self._send_message(params, request)


@contextmanager
def serve(workdir: Path, fake: FakeBotAPI) -> Iterator[subprocess.Popen[bytes]]:
    """``hotline serve`` with a Telegram token pointed at the fake; killed (not stopped) by the caller or at exit."""
    port = free_port()
    log = (workdir / "server.out").open("ab")
    env = env_for(workdir, HOTLINE_TELEGRAM__TOKEN=fake.token, HOTLINE_TELEGRAM__API_BASE=fake.base)
    proc = subprocess.Popen([HOTLINE, "serve", "--port", str(port)], cwd=workdir, env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("server did not start: " + (workdir / "server.out").read_text())
            time.sleep(0.1)
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
        log.close()


async def until(check: Any, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.1)


async def test_killed_mid_send_the_parent_gets_the_question_at_most_once(tmp_path: Path) -> None:
    fake = HangingBotAPI()
    fake.start()
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'hotline.db'}")
    try:
        with serve(tmp_path, fake) as first:
            parent = Person(fake, db, 7003)
            await parent.say("/start")
            await parent.press("Gặp cán bộ")
            await parent.say("Tôi cần hỏi về cuộc gọi lạ")
            reference = reference_in(texts(await parent.press("Gửi")))
            cipher = cipher_from_file(tmp_path / "var" / "keys.json", create=False)
            talk = Talk(cipher=cipher, reach=Reach(channels=frozenset({"telegram"})))

            def tip_id_of(conn: sa.Connection) -> int:
                return int(conn.execute(sa.select(tips.c.id).where(tips.c.reference == reference)).scalar_one())

            tip_id = await db.run(tip_id_of)
            hung = await db.run(handoff_ops.ask, viewer=SUPERVISOR, tip_id=tip_id, question=f"{HANG}: số nào?",
                                talk=talk, now=datetime.now(UTC))

            async def in_flight() -> bool:
                return any(HANG in str(c.params.get("text")) for c in fake.calls_to("sendMessage"))

            await until(in_flight)
            first.send_signal(signal.SIGKILL)  # mid-send: the call reached Telegram, its answer never came back
            first.wait(10)
        fake.release.set()
        waiting = await db.run(handoff_ops.ask, viewer=SUPERVISOR, tip_id=tip_id, key="after-restart",
                               question="Câu hỏi sau khi khởi động lại", talk=talk, now=datetime.now(UTC))
        with serve(tmp_path, fake):
            async def delivered() -> bool:
                row = await db.run(notices.get, notice_id=waiting)
                return row is not None and row.status == "sent"

            await until(delivered)  # what was still waiting went out after the restart
            await asyncio.sleep(1.0)  # several more passes of the worker
            sent = [c for c in fake.calls_to("sendMessage") if HANG in str(c.params.get("text"))]
            assert len(sent) == 1, "the question in flight at the crash was sent again"
            row = await db.run(notices.get, notice_id=hung)
            # Still claimed by the dead process: after the lease it is marked "interrupted", never resent.
            assert row is not None and row.status == "claimed"
            assert "Câu hỏi sau khi khởi động lại" in texts(parent.new_messages())
    finally:
        fake.release.set()
        fake.stop()
        await db.dispose()


async def test_the_http_api_gets_its_notices_with_its_next_request(tmp_path: Path) -> None:
    from tests.harden.conftest import hotline

    async with hotline(tmp_path) as app, app.client() as client:
        async def say(body: dict[str, Any]) -> list[dict[str, Any]]:
            r = await client.post("/api/v1/messages", json={"user_id": "api-parent", **body})
            assert r.status_code == 200, r.text
            return list(r.json()["messages"])

        await say({"text": "gặp cán bộ"})
        await say({"text": "Cần hỏi về một tin nhắn lạ"})
        reference = reference_in(" ".join(m["text"] for m in await say({"payload": "!submit"})))
        runtime = app.runtime

        def tip_id_of(conn: sa.Connection) -> int:
            return int(conn.execute(sa.select(tips.c.id).where(tips.c.reference == reference)).scalar_one())

        tip_id = await runtime.db.run(tip_id_of)
        from bot.delivery import talk_of

        await runtime.db.run(handoff_ops.ask, viewer=SUPERVISOR, tip_id=tip_id, question="Tin nhắn từ số nào?",
                             talk=talk_of(runtime), now=datetime.now(UTC))
        replies = await say({"text": "menu"})
        assert replies[0]["text"].startswith("Bạn cần giúp gì") and "Tin nhắn từ số nào?" in replies[-1]["text"]
        # "menu" is a command, not an answer: the question still waits; the next words answer it.
        assert all("Cảm ơn bạn" not in m["text"] for m in await say({"text": "menu"}))
        assert "Cảm ơn bạn" in (await say({"text": "Số 0912 000 222"}))[0]["text"]

        def replied(conn: sa.Connection) -> bool:
            return bool(conn.execute(sa.select(tip_cases.c.reply_received).where(tip_cases.c.tip_id == tip_id))
                        .scalar_one())

        assert await runtime.db.run(replied)
