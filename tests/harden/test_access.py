"""Issue 16, points 1–3: who may talk to the bot as whom."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot import apikeys
from bot.clientaddr import parse_networks, resolve
from bot.webchat.security import Sessions
from handlers.messages import InboundMessage
from storage.apikeys import add_key, revoke
from tests.harden.conftest import LOCAL, REMOTE, hotline

NOW = datetime(2026, 12, 2, tzinfo=UTC)


async def test_messages_api_without_keys_answers_loopback_only(tmp_path: Path) -> None:
    """Regression: anyone who guessed a user_id read that parent's draft over POST /api/v1/messages."""
    async with hotline(tmp_path) as h, h.client(REMOTE) as remote, h.client(LOCAL) as local:
        body = {"user_id": "parent-victim-7", "text": "báo cáo"}
        assert (await local.post("/api/v1/messages", json=body)).status_code == 200
        r = await remote.post("/api/v1/messages", json={"user_id": "parent-victim-7", "payload": "zzz"})
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
        assert "messages" not in r.json()
        # Through a proxy on this machine the client is not local, whatever address the proxy connects from.
        proxied = await local.post("/api/v1/messages", json=body, headers={"X-Forwarded-For": "198.51.100.9"})
        assert proxied.status_code == 401


async def test_api_key_is_required_and_scoped_to_its_user_prefix(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(apikeys, "REFRESH_SECONDS", 0.0)  # see a revocation at once instead of within 3 s
    async with hotline(tmp_path) as h, h.client(REMOTE) as remote:
        token = await h.runtime.db.run(add_key, name="zalo-oa", user_prefix="zalo:", now=NOW)
        auth = {"Authorization": f"Bearer {token}"}
        ok = await remote.post("/api/v1/messages", json={"user_id": "zalo:1", "text": "menu"}, headers=auth)
        assert ok.status_code == 200 and ok.json()["messages"]
        assert (await remote.post("/api/v1/messages", json={"user_id": "zalo:1", "text": "menu"})).status_code == 401
        other = await remote.post("/api/v1/messages", json={"user_id": "parent-victim-7", "text": "x"}, headers=auth)
        assert other.status_code == 403  # a key speaks only for its own parents
        forged = {"Authorization": f"Bearer {token[:-2]}xx"}
        r = await remote.post("/api/v1/messages", json={"user_id": "zalo:1", "text": "x"}, headers=forged)
        assert r.status_code == 401
        # Once a key exists, loopback needs one too.
        async with h.client(LOCAL) as local:
            assert (await local.post("/api/v1/messages", json={"user_id": "zalo:1", "text": "x"})).status_code == 401
        await h.runtime.db.run(revoke, name="zalo-oa", now=NOW)
        r = await remote.post("/api/v1/messages", json={"user_id": "zalo:1", "text": "menu"}, headers=auth)
        assert r.status_code == 401


async def test_api_keys_are_stored_only_as_hashes(tmp_path: Path) -> None:
    async with hotline(tmp_path) as h:
        token = await h.runtime.db.run(add_key, name="n", user_prefix="p:", now=NOW)
    secret = token.rsplit("_", 1)[1].encode()
    for path in tmp_path.glob("hotline.db*"):
        assert secret not in path.read_bytes()


def test_readme_says_the_api_is_loopback_only_until_a_key_exists() -> None:
    # Issue 17 moved the developers' notes off the parents' start page into the README's "For developers".
    from tests.conftest import REPO

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    developers = readme.split("**For developers:**", 1)[1].split("\n\n", 1)[0]
    assert "hotline apikeys add" in developers and "127.0.0.1" in developers


def test_x_forwarded_for_is_believed_only_from_a_trusted_proxy() -> None:
    trusted = parse_networks(["10.0.0.0/8"])

    def scope(peer: str, xff: str | None) -> dict[str, object]:
        headers = [(b"x-forwarded-for", xff.encode())] if xff else []
        return {"client": (peer, 1), "headers": headers}

    assert resolve(scope("203.0.113.7", "1.2.3.4"), trusted) == "203.0.113.7"  # not a proxy: header ignored
    assert resolve(scope("10.0.0.2", "1.2.3.4"), trusted) == "1.2.3.4"
    assert resolve(scope("10.0.0.2", "6.6.6.6, 1.2.3.4, 10.0.0.3"), trusted) == "1.2.3.4"  # a forged left hop
    assert resolve(scope("10.0.0.2", "garbage"), trusted) == "10.0.0.2"
    assert resolve(scope("10.0.0.2", None), trusted) == "10.0.0.2"


async def test_many_identities_from_one_address_are_limited(tmp_path: Path) -> None:
    """Regression: 500 user_ids (or 500 cookie-less sessions) from one address were all answered."""
    async with hotline(tmp_path, security={"address_burst": 5, "address_per_minute": 1}) as h, \
            h.client(LOCAL) as local, h.client(("192.0.2.1", 1)) as other:
        codes = [(await local.post("/api/v1/messages", json={"user_id": f"u{i}", "text": "menu"})).status_code
                 for i in range(8)]
        assert codes[:5] == [200] * 5 and set(codes[5:]) == {429}
        limited = await local.post("/chat/api/messages", json={"id": "abcdefgh12", "text": "hi"})
        assert limited.status_code == 429 and limited.json()["error"]["code"] == "rate_limited"
        # Another address is not affected.
        assert (await other.post("/api/v1/check", json={"phone": "0912345678"})).status_code == 200


async def test_new_web_chat_sessions_per_address_are_capped(tmp_path: Path) -> None:
    async with hotline(tmp_path, security={"new_sessions_burst": 3, "new_sessions_per_hour": 1}) as h:
        codes = []
        for i in range(5):
            async with h.client(REMOTE) as visitor:  # a fresh cookie jar each time: a new session
                r = await visitor.post("/chat/api/messages", json={"id": f"abcdefgh{i:02d}", "text": "/start"})
                codes.append(r.status_code)
        assert codes == [200, 200, 200, 429, 429]


async def test_the_engine_learns_the_client_address(tmp_path: Path) -> None:
    seen: list[InboundMessage] = []
    async with hotline(tmp_path, server={"trusted_proxies": ["127.0.0.1"]}) as h:
        original = h.runtime.engine.handle

        async def recording(msg: InboundMessage, **options: Any) -> list[object]:
            seen.append(msg)
            return await original(msg, **options)  # type: ignore[return-value]

        h.runtime.engine.handle = recording  # type: ignore[method-assign,assignment]
        async with h.client(LOCAL) as local:
            await local.post("/chat/api/messages", json={"id": "abcdefgh12", "text": "/start"},
                             headers={"X-Forwarded-For": "198.51.100.20"})
            await local.post("/api/v1/messages", json={"user_id": "u1", "text": "menu"})
    assert [m.extras.get("client_addr") for m in seen] == ["198.51.100.20", "127.0.0.1"]


def _cookie(r: object) -> str:
    header = r.headers["set-cookie"]  # type: ignore[attr-defined]
    return str(header).split(";")[0].split("=", 1)[1]


async def test_a_session_id_the_server_never_issued_is_not_kept(tmp_path: Path) -> None:
    """Regression (session fixation): a made-up cookie value was accepted and kept."""
    async with hotline(tmp_path) as h, h.client(REMOTE, cookies={"hotline_chat": "A" * 32}) as visitor:
        r = await visitor.post("/chat/api/messages", json={"id": "abcdefgh12", "text": "/start"})
        assert r.status_code == 200 and _cookie(r) != "A" * 32
        forged = "A" * 24 + "." + "B" * 24
        visitor.cookies.set("hotline_chat", forged)
        r = await visitor.post("/chat/api/messages", json={"id": "abcdefgh13", "text": "/start"})
        assert _cookie(r) != forged


async def test_a_planted_session_never_becomes_the_victims_conversation(tmp_path: Path) -> None:
    async with hotline(tmp_path) as h:
        planted = Sessions(h.runtime.cipher.index_key).new()  # an id this server did issue, never used
        async with h.client(REMOTE, cookies={"hotline_chat": planted}) as victim:
            r = await victim.post("/chat/api/messages", json={"id": "abcdefgh12", "text": "/start"})
            fresh = _cookie(r)
            assert fresh != planted  # a new id at the start of the conversation
            victim.cookies.set("hotline_chat", fresh)
            r = await victim.post("/chat/api/messages", json={"id": "abcdefgh13", "text": "báo cáo"})
            assert r.headers.get("set-cookie") is None  # the started conversation keeps its id
        async with h.client(REMOTE, cookies={"hotline_chat": planted}) as attacker:
            resumed = await attacker.post("/chat/api/resume")
            assert resumed.json()["started"] is False
