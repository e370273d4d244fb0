"""A small keep-alive HTTP/1.1 client for benchmarks: cheap enough not to be the bottleneck.

httpx spends more CPU per request than the server under test on a 2-core machine; this speaks just enough
HTTP (one connection per simulated user, Content-Length bodies) to measure the server.
"""

from __future__ import annotations

import asyncio
import json
import statistics
from dataclasses import dataclass, field
from typing import Any


class Conn:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post_json(self, path: str, body: dict[str, Any]) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        data = json.dumps(body).encode()
        head = (f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(data)}\r\n\r\n").encode()
        self.writer.write(head + data)
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        payload = await self.reader.readexactly(length)
        return status, payload

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            await self.writer.wait_closed()


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0

    def report(self, label: str, seconds: float) -> dict[str, float]:
        lat = sorted(self.latencies)
        n = len(lat)
        p50 = lat[n // 2] * 1000 if n else 0.0
        p99 = lat[min(n - 1, int(n * 0.99))] * 1000 if n else 0.0
        rate = n / seconds if seconds else 0.0
        mean = statistics.fmean(lat) * 1000 if n else 0.0
        print(f"{label:<34} {rate:8.0f} msg/s   p50 {p50:6.1f} ms   p99 {p99:6.1f} ms   mean {mean:5.1f} ms   "
              f"n={n} errors={self.errors}")
        return {"rate": rate, "p50_ms": p50, "p99_ms": p99, "n": n, "errors": self.errors}
