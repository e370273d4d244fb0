"""Flood control under a storm of 429s and 5xx: every message exactly once, in order, within the limits.

The limits are checked on the fake server's arrival times with tolerances for loopback jitter, never on
how fast the test ran.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import httpx
import pytest

from tests.e2e.telegram.conftest import SECRET, make_settings, open_runtime, running, serving, webhook_app
from tests.e2e.telegram.fakebot import MESSAGE_METHODS, FakeBotAPI
from tests.e2e.telegram.people import Person, settled

REAL_LIMITS = {"overall_per_second": 28.0, "chat_interval": 1.0, "group_interval": 3.0}
CHATS = 30
CONTROL = 9000  # a chat the faults never touch: what every chat should end up seeing


@pytest.mark.slow  # ~6 s: paced by the rate limits
async def test_429_storm_delivers_every_message_once_within_the_limits(tmp_path: Path, fake: FakeBotAPI) -> None:
    settings = make_settings(tmp_path, fake, mode="webhook")
    async with open_runtime(settings) as runtime, running(runtime, **REAL_LIMITS) as service, \
            serving(webhook_app(runtime, service)) as base:
        async with httpx.AsyncClient() as client:
            r = await client.post(f"{fake.base}/bot{fake.token}/setWebhook",
                                  json={"url": f"{base}/telegram/webhook", "secret_token": SECRET})
            assert r.json()["ok"]
        fake.fail("sendMessage", 429, retry_after=1, every=16, skip_chats=frozenset({str(CONTROL)}))
        fake.fail("sendMessage", 500, times=2, skip_chats=frozenset({str(CONTROL)}))
        people = [Person(fake, runtime.db, CONTROL)] + [Person(fake, runtime.db, 9001 + i) for i in range(CHATS)]
        # Everyone writes twice before any answer arrives.
        pushed = [fake.push(person.text(text)) for person in people for text in ("xin chào", "/help")]
        for update_id in pushed:
            await settled(runtime.db, update_id, within=60)

    calls = fake.calls_to(*MESSAGE_METHODS)
    floods = [c for c in calls if c.status == 429]
    assert len(floods) >= 3 and len(fake.calls_to("sendMessage", ok=False)) >= 5

    # Exactly once and in order: every chat received what the untouched control chat received.
    def delivered(chat: int) -> list[str]:
        return [c.params["text"] for c in calls if c.chat_id == str(chat) and c.status == 200]

    expected = delivered(CONTROL)
    assert len(expected) >= 2
    for person in people[1:]:
        assert delivered(person.id) == expected

    # Per chat: attempts at least a second apart. (The limiter counts a call until it has returned, so this
    # holds on the server's clock however slow the machine is.)
    for person in people:
        times = [c.at for c in calls if c.chat_id == str(person.id)]
        assert all(b - a >= 0.99 for a, b in itertools.pairwise(times)), (person.id, times)

    # Overall: no one-second window holds more than 30 calls.
    arrivals = sorted(c.at for c in calls)
    for i, start in enumerate(arrivals):
        assert sum(1 for t in arrivals[i:i + 40] if t < start + 1.0) <= 30

    # After a 429, nothing new goes out until retry_after has passed (calls already in flight excepted).
    for flood in floods:
        assert not [c for c in calls if flood.at + 0.3 < c.at < flood.at + 1.0], flood.at
