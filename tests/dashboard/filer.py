"""One "server process" of the two-process alert test: files its share of the generated month, one tip per
transaction (as the dialogue does), through its own engine and connection pool.

    python -m tests.dashboard.filer DATABASE_URL KEY_FILE PART PARTS BACKGROUND START_FILE

It waits until ``START_FILE`` exists, so both processes race from the same moment. Odd parts file their
share from the month's end backwards, so arrival order is as far from time order as it gets.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from storage.crypto import cipher_from_file
from storage.db import Database
from tests.dashboard.month import file_specs, generate


def wait_for(start: str) -> None:
    """Both processes start filing at the same moment (before any event loop exists, so a plain sleep)."""
    deadline = time.monotonic() + 60
    while not Path(start).exists() and time.monotonic() < deadline:
        time.sleep(0.01)


async def main(url: str, key_file: str, part: int, parts: int, background: int) -> None:
    cipher = cipher_from_file(Path(key_file), create=False)
    db = Database(url)
    mine = [s for i, s in enumerate(generate(background=background).specs) if i % parts == part]
    if part % 2:
        mine.reverse()  # the other process files backwards: tips of one campaign arrive far out of time order
    try:
        # A few tips at once per process, each in its own transaction: the campaigns' tips interleave.
        for first in range(0, len(mine), 4):
            await asyncio.gather(*(db.run(file_specs, specs=[s], cipher=cipher) for s in mine[first:first + 4]))
    finally:
        await db.dispose()
    print(f"part {part}: {len(mine)} tips", flush=True)


if __name__ == "__main__":
    url, key_file, part, parts, background, start = sys.argv[1:7]
    wait_for(start)
    asyncio.run(main(url, key_file, int(part), int(parts), int(background)))
