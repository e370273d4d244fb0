"""SIGKILL between a token refresh and its persisting: the next start still has a working token, nothing is lost.

The worst moment to die: Zalo has rotated the pair (the old refresh token is dead) and the new pair never
reached our database. The process that restarts must still deliver the parent's reply — with the previous
access token, which Zalo leaves valid until it expires — and say loudly that an admin must authorise again.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.e2e.servers import HOTLINE, env_for, free_port
from tests.e2e.zalo.fakezalo import FakeZalo
from tests.e2e.zalo.test_tokens import authorise_in_browser, hotline, zalo_env

pytestmark = pytest.mark.slow  # two `hotline serve` processes and a wait for a dead process's lock


@contextmanager
def serve(tmp_path: Path, fake: FakeZalo, name: str) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = free_port()
    log = (tmp_path / f"{name}.out").open("wb")
    proc = subprocess.Popen([HOTLINE, "serve", "--port", str(port)], cwd=tmp_path,
                            env=env_for(tmp_path, **zalo_env(fake)), stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("server did not start: " + (tmp_path / f"{name}.out").read_text())
            time.sleep(0.1)
        yield proc, base
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()


def post_text(fake: FakeZalo, base: str, user: str, msg_id: str, text: str) -> None:
    body, headers = fake.signed({"event_name": "user_send_text", "sender": {"id": user},
                                 "recipient": {"id": fake.oa_id}, "message": {"msg_id": msg_id, "text": text}})
    assert httpx.post(f"{base}/webhooks/zalo", content=body, headers=headers, timeout=10).status_code == 200


def wait_for(predicate: object, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.1)


def test_sigkill_between_refresh_and_persist_leaves_a_working_token(tmp_path: Path, fake: FakeZalo) -> None:
    # The OA is authorised with a pair close enough to expiry that the first send refreshes it first.
    fake.token_lifetime = 3000.0
    started = hotline(tmp_path, fake, "auth-url")
    code, state = authorise_in_browser(next(x for x in started.stdout.splitlines() if x.startswith(fake.base)))
    assert hotline(tmp_path, fake, "exchange", code, "--state", state).returncode == 0

    with serve(tmp_path, fake, "first") as (proc, base):
        # At start the service refreshes the pair (it is close to expiry) and stores it: that one goes well.
        wait_for(lambda: len(fake.refreshes) == 1)
        wait_for(lambda: "generation 2" in hotline(tmp_path, fake, "info").stdout)
        stored_access = list(fake.access)[-1]  # the pair that refresh handed out (and we stored)
        fake.kill_on_refresh = proc.pid
        post_text(fake, base, "4001", "k1", "xin chào")  # journaled, then the reply needs a token
        assert fake.killed.wait(30), "the bot never asked for a refresh"
        proc.wait(timeout=10)
        assert proc.returncode == -9
    fake.kill_on_refresh = None
    assert fake.messages("4001") == []  # it died before sending anything
    assert [ok for _, ok in fake.refreshes] == [True, True]  # Zalo rotated the pair; we never stored it

    with serve(tmp_path, fake, "second") as (_, base):
        wait_for(lambda: fake.messages("4001"))
        post_text(fake, base, "4001", "k2", "1")
        wait_for(lambda: len(fake.messages("4001")) >= 2)
    sent = fake.messages("4001")
    assert "Bạn cần giúp gì" in sent[0].text  # the reply to the event the dead process had journaled
    assert "liên lạc" in sent[1].text  # and the conversation goes on
    assert {s.token for s in sent} == {stored_access}  # the previous access token still works
    assert len(sent) == 2  # nothing answered twice

    # Once the dead process's refresh lock has expired, the dead refresh token is found out and recorded.
    refused = hotline(tmp_path, fake, "refresh")
    assert refused.returncode == 1 and "-14014" in refused.stderr
    assert fake.refreshes[-1][1] is False
    assert "NEEDS RE-AUTHORISATION" in hotline(tmp_path, fake, "info").stdout
