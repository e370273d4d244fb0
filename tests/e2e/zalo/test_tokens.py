"""OA tokens: the first authorisation (OAuth v4 + PKCE, by the CLI), rotation on refresh, one refresher at a time."""

from __future__ import annotations

import asyncio
import subprocess
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from bot.channels.zalo.client import TokenPair, ZaloClient
from bot.channels.zalo.tokens import TokenManager
from bot.settings import ZaloSettings
from handlers.messages import OutboundMessage
from storage import channel_state
from storage.crypto import Cipher, new_key
from storage.db import Database
from tests.e2e.servers import HOTLINE, env_for
from tests.e2e.zalo.conftest import Live, authorise, channel_of, live, make_settings, open_runtime, zalo_settings
from tests.e2e.zalo.fakezalo import FakeZalo
from tests.e2e.zalo.people import db_until


def zalo_env(fake: FakeZalo) -> dict[str, str]:
    return {f"HOTLINE_ZALO__{k.upper()}": str(v) for k, v in zalo_settings(fake).items()}


def hotline(tmp_path: Path, fake: FakeZalo, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([HOTLINE, "zalo", *args], cwd=tmp_path, env=env_for(tmp_path, **zalo_env(fake)),
                          capture_output=True, text=True, timeout=60, check=False)


def authorise_in_browser(url: str) -> tuple[str, str]:
    """What the OA admin does with the link: Zalo redirects to our callback with ?code=…&state=…."""
    response = httpx.get(url, follow_redirects=False)
    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["location"]).query)
    return query["code"][0], query["state"][0]


@pytest.mark.slow  # tens of seconds (subprocesses, a generated month, a paced send): CI runs it, `./dev test fast` not
def test_the_cli_authorises_the_oa_with_pkce_and_shows_the_state(tmp_path: Path, fake: FakeZalo) -> None:
    started = hotline(tmp_path, fake, "auth-url")
    assert started.returncode == 0, started.stderr
    url = next(line for line in started.stdout.splitlines() if line.startswith(fake.base))
    query = parse_qs(urlsplit(url).query)
    assert query["app_id"] == [fake.app_id] and query["redirect_uri"] == ["https://hotline.example.vn/zalo/callback"]
    assert len(query["code_challenge"][0]) == 43  # base64url of a SHA-256, no padding
    code, state = authorise_in_browser(url)

    wrong_state = hotline(tmp_path, fake, "exchange", code, "--state", "not-the-state")
    assert wrong_state.returncode == 1 and "state" in wrong_state.stderr
    done = hotline(tmp_path, fake, "exchange", code, "--state", state)
    assert done.returncode == 0, done.stderr
    assert "authorised" in done.stdout
    replay = hotline(tmp_path, fake, "exchange", code)  # the verifier is used up with the code
    assert replay.returncode == 1

    info = hotline(tmp_path, fake, "info")
    assert info.returncode == 0, info.stderr
    assert "generation 1" in info.stdout and "Hotline Thử" in info.stdout

    refreshed = hotline(tmp_path, fake, "refresh")
    assert refreshed.returncode == 0, refreshed.stderr
    assert "generation 2" in refreshed.stdout
    assert [ok for _, ok in fake.refreshes] == [True]


@pytest.mark.slow  # ~10 s: four `hotline` runs
def test_an_exchange_with_a_verifier_that_does_not_match_is_refused(tmp_path: Path, fake: FakeZalo) -> None:
    first = hotline(tmp_path, fake, "auth-url")
    code, _ = authorise_in_browser(next(x for x in first.stdout.splitlines() if x.startswith(fake.base)))
    hotline(tmp_path, fake, "auth-url")  # a second link replaces the verifier the first code belongs to
    refused = hotline(tmp_path, fake, "exchange", code)
    assert refused.returncode == 1 and "Zalo refused" in refused.stderr
    assert "tokens: none" in hotline(tmp_path, fake, "info").stdout


@pytest.mark.slow  # ~2.5 s: a `hotline` run
def test_auth_url_says_which_setting_is_missing(tmp_path: Path, fake: FakeZalo) -> None:
    env = env_for(tmp_path, **{**zalo_env(fake), "HOTLINE_ZALO__REDIRECT_URI": ""})
    result = subprocess.run([HOTLINE, "zalo", "auth-url"], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 2 and "zalo.redirect_uri" in result.stderr


async def test_a_token_close_to_expiry_is_rotated_before_use(tmp_path: Path, fake: FakeZalo) -> None:
    async with open_runtime(make_settings(tmp_path, fake)) as runtime:  # (no service: its own check would race)
        old_access, old_refresh = await authorise(runtime, fake, lifetime=3000)  # under the 6 h margin
        await channel_of(runtime).send("3001", [OutboundMessage("Chào bạn")])
        stored = await runtime.db.run(channel_state.load_tokens, channel="zalo", cipher=runtime.cipher)
    assert stored is not None and stored.generation == 2
    assert stored.access_token != old_access and stored.refresh_token != old_refresh
    assert fake.refreshes == [(old_refresh, True)]
    assert fake.refresh_tokens[old_refresh] is False  # single use: the old one is dead at Zalo
    [sent] = fake.messages("3001")
    assert sent.token == stored.access_token  # used only after it was stored


async def test_a_quiet_oa_keeps_its_authorisation_alive(tmp_path: Path, fake: FakeZalo) -> None:
    """Nobody writes for a day: the service still refreshes the pair before it expires (and so renews the
    refresh token's three months)."""
    async with live(make_settings(tmp_path, fake), fake, token_lifetime=3000) as zalo:
        stored = await db_until(zalo.runtime.db, lambda c: (
            t := channel_state.load_tokens(c, channel="zalo", cipher=zalo.runtime.cipher)) and t.generation == 2)
    assert stored is True
    assert [ok for _, ok in fake.refreshes] == [True]
    assert fake.sent == []


async def test_a_refused_refresh_is_recorded_and_the_current_token_kept_while_it_lasts(zalo: Live,
                                                                                       fake: FakeZalo) -> None:
    current = await zalo.channel.tokens.current()
    assert current is not None
    fake.refresh_tokens[current.refresh_token] = False  # e.g. rotated by a process that died before storing it
    zalo.channel.tokens.margin = timedelta(days=2)  # make the next send want a refresh
    await zalo.channel.send("3002", [OutboundMessage("Vẫn gửi được")])
    assert [s.token for s in fake.messages("3002")] == [current.access_token]
    stored = await zalo.runtime.db.run(channel_state.load_tokens, channel="zalo", cipher=zalo.runtime.cipher)
    assert stored is not None and stored.reauth_reason.startswith("-14014")
    await zalo.channel.send("3002", [OutboundMessage("Lần nữa")])
    assert len(fake.refreshes) == 1  # a refused refresh token is not presented again


async def test_zalo_unreachable_during_a_refresh_is_not_a_reason_to_reauthorise(zalo: Live, fake: FakeZalo) -> None:
    zalo.channel.tokens.margin = timedelta(days=2)
    fake.fail(status=500, times=1, path="/v4/oa/access_token")
    await zalo.channel.send("3003", [OutboundMessage("Một")])
    stored = await zalo.runtime.db.run(channel_state.load_tokens, channel="zalo", cipher=zalo.runtime.cipher)
    assert stored is not None and stored.reauth_reason == "" and stored.generation == 1
    zalo.channel.tokens._cached = None  # (the next send re-reads the pair rather than waiting out its cache)
    await zalo.channel.send("3003", [OutboundMessage("Hai")])
    assert [ok for _, ok in fake.refreshes] == [True]


async def test_two_processes_refreshing_at_once_rotate_the_pair_once(database: Database, fake: FakeZalo) -> None:
    """Two processes (each its own database engine, token manager and HTTP client) meet an expired token."""
    cipher = Cipher.from_config({"k1": new_key()}, "k1", new_key())
    settings = ZaloSettings(**zalo_settings(fake))
    second_db = Database(database.url)
    clients = [ZaloClient(settings), ZaloClient(settings)]
    try:
        first, second = TokenManager(database, cipher, clients[0]), TokenManager(second_db, cipher, clients[1])
        access, refresh = fake.issue()
        await first.install(TokenPair(access, refresh, 90_000))
        results = await asyncio.gather(first.refresh(access), second.refresh(access))
    finally:
        for client in clients:
            await client.aclose()
        await second_db.dispose()
    assert fake.refreshes == [(refresh, True)]
    assert results[0].access_token == results[1].access_token != access
    assert results[0].generation == results[1].generation == 2
