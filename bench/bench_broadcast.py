"""Broadcast throughput against Telegram's limit: one warning to N subscribers through the real sender
(bot/broadcast_delivery.py), the real Telegram adapter and its limiter, to the local fake Bot API held to
Telegram's limits (30 messages/s overall, 1/s per chat; tests/broadcast/strictbot.py).

    .venv/bin/python bench/bench_broadcast.py [--subscribers 1000] [--database-url postgresql+asyncpg://…]

Printed: messages/s on the fake's own clock (first to last accepted message), the busiest second, the share of
the platform limit reached (target ≥ 90 %), how many 429s the fake had to give (target 0), and the wall time.
Loopback only; bounded by N / 27.5 s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.broadcast_delivery import BroadcastSender  # noqa: E402
from bot.channels.telegram import TelegramService  # noqa: E402
from bot.channels.telegram.channel import TelegramChannel  # noqa: E402
from bot.runtime import build_runtime  # noqa: E402
from bot.settings import Settings  # noqa: E402
from storage import broadcasts  # noqa: E402
from storage.subscriptions import Audience  # noqa: E402
from tests.broadcast.helpers import now, subscribe_many  # noqa: E402
from tests.broadcast.strictbot import OVERALL_PER_SECOND, StrictBotAPI  # noqa: E402

TEXT = "Cảnh báo (đo tốc độ): kẻ gian giả danh nhà trường yêu cầu cài ứng dụng sổ liên lạc điện tử."


def settings_for(work: Path, fake: StrictBotAPI, database_url: str | None) -> Settings:
    return Settings.model_validate({
        "database": {"url": database_url or f"sqlite+aiosqlite:///{work / 'hotline.db'}"},
        "data_dir": str(work / "data"), "security": {"key_file": str(work / "keys.json")}, "logging": {"file": None},
        "nlu": {"model_path": os.environ.get("HOTLINE_TEST_NLU_MODEL", str(REPO / "var" / "test-nlu-model.npz"))},
        "telegram": {"token": fake.token, "api_base": fake.base, "mode": "webhook", "secret_token": "bench",
                     "webhook_url": "https://hotline.example.vn/telegram/webhook"},
        "evidence": {"enabled": False}, "intake": {"run_forwarder": False},
    })


async def run(args: argparse.Namespace, fake: StrictBotAPI, work: Path) -> dict[str, Any]:
    runtime = await build_runtime(settings_for(work, fake, args.database_url), migrate=True)
    service = TelegramService(runtime)  # Telegram's published limits, as `hotline serve` runs it
    runtime.channels.register(TelegramChannel(service))
    stop = asyncio.Event()
    tasks = [asyncio.create_task(service.run(stop)), asyncio.create_task(BroadcastSender(runtime).run(stop))]
    try:
        chats = [str(9_000_000 + i) for i in range(args.subscribers)]
        await subscribe_many(runtime.db, runtime.cipher, channel="telegram", chat_ids=chats)
        started = time.monotonic()
        bid = await runtime.db.run(broadcasts.create, title="bench", text_vi=TEXT, text_en=None, audience=Audience(),
                                   actor="bench", now=now())
        deadline = started + args.subscribers / 20 + 60
        while True:
            progress = await runtime.db.run(broadcasts.progress, broadcast_id=bid, now=now())
            if progress.remaining == 0 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
        wall = time.monotonic() - started
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        await runtime.close()
    accepted = sorted(c.at for c in fake.calls_to("sendMessage", ok=True))
    span = accepted[-1] - accepted[0] if len(accepted) > 1 else 0.0
    rate = (len(accepted) - 1) / span if span else 0.0
    return {"sent": progress.sent, "total": progress.total, "rate": rate, "busiest": fake.max_per_second(),
            "floods": len(fake.calls_to("sendMessage", ok=False)), "violations": len(fake.violations), "wall": wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--database-url", default=None, help="PostgreSQL instead of a fresh SQLite file")
    args = parser.parse_args()
    fake = StrictBotAPI()
    fake.start()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-broadcast-") as tmp:
            figures = asyncio.run(run(args, fake, Path(tmp)))
    finally:
        fake.stop()
    backend = "PostgreSQL" if args.database_url else "SQLite"
    share = 100 * figures["rate"] / OVERALL_PER_SECOND
    print(f"broadcast to {args.subscribers} Telegram subscribers ({backend}, fake Bot API at Telegram's limits)")
    print(f"  delivered            {figures['sent']}/{figures['total']}")
    print(f"  throughput           {figures['rate']:6.1f} msg/s   = {share:5.1f} % of the {OVERALL_PER_SECOND}/s limit "
          f"(target >= 90 %)")
    print(f"  busiest second       {figures['busiest']:6d} msg     (limit {OVERALL_PER_SECOND})")
    print(f"  429s from the fake   {figures['violations']:6d}         (target 0)")
    print(f"  wall time            {figures['wall']:6.1f} s")


if __name__ == "__main__":
    main()
