"""Two `hotline serve` processes on one PostgreSQL database: a flow version published in one's console is
served by both within 5 seconds, without a restart; a rollback likewise."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import httpx
import pytest

from bot.console.auth import COOKIE
from handlers.flowload import DEFAULT_FLOWS_DIR
from tests.broadcast.serve import Site
from tests.conftest import _create_pg_database, _drop_pg_database

MAIN = (DEFAULT_FLOWS_DIR / "main.yaml").read_text(encoding="utf-8")
NEW = MAIN.replace('prompt: {vi: "Bạn cần giúp gì?"', 'prompt: {vi: "Bạn cần Công an giúp gì?"', 1)


def prompt_of(base: str, user: str) -> str:
    r = httpx.post(f"{base}/api/v1/messages", json={"user_id": user, "text": "menu"}, timeout=10)
    return str(r.json()["messages"][-1]["text"])


def seconds_until(bases: list[str], text: str, *, within: float = 5.0) -> float:
    """How long until every server answers ``text`` to "menu" (fails after ``within`` seconds)."""
    started, pending, n = time.monotonic(), set(bases), 0
    while pending:
        for base in list(pending):
            n += 1
            if prompt_of(base, f"poll-{n}") == text:
                pending.discard(base)
        elapsed = time.monotonic() - started
        assert elapsed < within, f"not served within {within} s by {sorted(pending)}"
        time.sleep(0.1)
    return time.monotonic() - started


@pytest.mark.postgres
def test_both_servers_serve_a_publication_within_5_seconds(tmp_path: Path, pg_admin_url: str) -> None:
    url = asyncio.run(_create_pg_database(pg_admin_url))
    site = Site.make(tmp_path, HOTLINE_DATABASE__URL=url)
    try:
        asyncio.run(site.prepare(subscribers=[]))
        bases = [site.start(), site.start()]
        assert [prompt_of(b, "first") for b in bases] == ["Bạn cần giúp gì?"] * 2
        console = httpx.Client(base_url=bases[0], cookies={COOKIE: site.cookie}, timeout=10)
        editor = console.get("/console/content/flows/main.yaml")
        csrf = re.search(r'name="csrf" value="([^"]+)"', editor.text)
        assert csrf, editor.text[:300]
        r = console.post("/console/content/flows/main.yaml",
                         data={"csrf": csrf.group(1), "text": NEW, "action": "publish"})
        assert r.status_code == 303 and r.headers["location"].endswith("done=published")
        seconds_until(bases, "Bạn cần Công an giúp gì?")

        page = console.get("/console/content/flows/main.yaml").text
        shipped = re.search(r'action="/console/content/flows/main.yaml/versions/(\d+)/publish"', page)
        assert shipped
        r = console.post(f"/console/content/flows/main.yaml/versions/{shipped.group(1)}/publish",
                         data={"csrf": csrf.group(1)})
        assert r.headers["location"].endswith("done=rolled_back")
        seconds_until(bases, "Bạn cần giúp gì?")
        console.close()
    finally:
        site.stop()
        asyncio.run(_drop_pg_database(pg_admin_url, url))
