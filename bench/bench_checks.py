"""Check latency with a province-sized directory and a large blocklist.

Loads 1,000,000 blocklisted numbers, 100,000 blocklisted domains, 1,000 schools and 20,000 reported
indicators into a temporary SQLite database, then times a mix of call, link and message checks.
Prints p50/p99 twice: the check function itself (inside one unit of work) and end to end through
``Database.run`` (one thread hop and transaction per check, as the CLI and the HTTP API call it).
Target: p99 < 5 ms. Usage: python bench/bench_checks.py [--checks 5000] [--phones 1000000] [--domains 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import sqlalchemy as sa  # noqa: E402

from handlers.checks import CheckRequest, check  # noqa: E402
from handlers.checks.schools import name_key  # noqa: E402
from storage.crypto import Cipher, new_key  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.indicators import rows as rows_for  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.reference import SchoolRecord, upsert_schools  # noqa: E402
from storage.reference_schema import blocklist  # noqa: E402
from storage.schema import tip_indicators, tips  # noqa: E402

NOW = datetime.now(UTC)
CIPHER = Cipher.from_config({"k1": new_key()}, "k1", new_key())
PREFIXES = ("32", "33", "34", "35", "36", "37", "38", "39", "70", "76", "77", "78", "79", "81", "82", "83", "84",
            "85", "86", "88", "89", "90", "91", "92", "93", "94", "96", "97", "98", "99")
NAMES = ("Nguyễn Trãi", "Lê Lợi", "Trần Hưng Đạo", "Võ Thị Sáu", "Lý Tự Trọng", "Phan Bội Châu", "Hùng Vương",
         "Ngô Quyền", "Quang Trung", "Lê Quý Đôn", "Nguyễn Du", "Chu Văn An", "Kim Đồng", "Trần Phú", "Đinh Tiên Hoàng")
TYPES = ("Trường Tiểu học", "Trường THCS", "Trường THPT", "Trường Mầm non")


def phone(rng: random.Random) -> str:
    return f"+84{rng.choice(PREFIXES)}{rng.randrange(10_000_000):07d}"


def domain(i: int) -> str:
    return f"lua-dao-{i}.{('com', 'net', 'vn', 'com.vn', 'xyz', 'top')[i % 6]}"


def tip_row() -> dict[str, object]:
    """A filler ``tips`` row (only its id matters), built from the table's required columns."""
    fillers = {sa.Text: "{}", sa.String: "bench", sa.JSON: {}, sa.Boolean: False, sa.Integer: 0, sa.DateTime: NOW}
    return {col.name: next(v for t, v in fillers.items() if isinstance(col.type, t)) for col in tips.columns
            if not (col.primary_key or col.nullable or col.server_default is not None)}


def load(conn: sa.Connection, phones: list[str], domains: list[str], schools: list[SchoolRecord]) -> None:
    rows = [{"kind": "phone", "value": p, "note": None, "created_at": NOW} for p in phones]
    rows += [{"kind": "domain", "value": d, "note": None, "created_at": NOW} for d in domains]
    for start in range(0, len(rows), 100_000):
        conn.execute(sa.insert(blocklist), rows[start : start + 100_000])
    upsert_schools(conn, records=schools, now=NOW)
    tip_rows = [{**tip_row(), "id": i + 1} for i in range(20_000)]
    conn.execute(sa.insert(tips), tip_rows)
    indicators = [row for i in range(20_000) for row in rows_for(
        CIPHER, tip_id=i + 1, pairs=[("phone", phones[i]) if i % 2 else ("domain", domains[i])],
        reporter_key=f"r{i % 7}", origin_key=None, created_at=NOW)]
    conn.execute(sa.insert(tip_indicators), indicators)


def requests(rng: random.Random, phones: list[str], domains: list[str], schools: list[SchoolRecord],
             n: int) -> list[CheckRequest]:
    out = []
    for i in range(n):
        school = rng.choice(schools)
        kind = i % 5
        if kind == 0:  # a blocklisted caller
            out.append(CheckRequest(phone=rng.choice(phones), claimed_role="teacher", asked=("otp",)))
        elif kind == 1:  # a number and a school name, the common call check
            out.append(CheckRequest(phone=phone(rng), school=school.name, claimed_role="homeroom_teacher"))
        elif kind == 2:  # the school's own number
            out.append(CheckRequest(phone=school.phones[0], school=school.name.split(" ", 2)[-1]))
        elif kind == 3:  # a link on a subdomain of a blocklisted domain
            out.append(CheckRequest(url=f"https://hoc.phi.{rng.choice(domains)}/pay.apk", claimed_role="teacher"))
        else:  # a whole forwarded message
            text = (f"[{school.name}] Kính gửi PHHS: vui lòng cài ứng dụng tại https://vnedu-{i}.com/app và đọc "
                    f"mã OTP cho cô qua số 0{phone(rng)[3:]}, ck học phí vào stk. Chi tiết: bit.ly/x{i}")
            out.append(CheckRequest(text=text, school=school.name, claimed_role="school_staff"))
    return out


def percentiles(samples: list[float]) -> str:
    q = statistics.quantiles(samples, n=100)
    return f"p50 {q[49] * 1000:.2f} ms  p99 {q[98] * 1000:.2f} ms  max {max(samples) * 1000:.2f} ms"


def timed_in_thread(conn: sa.Connection, reqs: list[CheckRequest]) -> list[float]:
    samples = []
    for req in reqs:
        start = time.perf_counter()
        check(conn, req, cipher=CIPHER)
        samples.append(time.perf_counter() - start)
    return samples


async def main(n_checks: int, n_phones: int, n_domains: int) -> None:
    rng = random.Random(2026)
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite+aiosqlite:///{tmp}/bench.db")
        try:
            await upgrade(db)
            phones = list({phone(rng) for _ in range(int(n_phones * 1.01))})[:n_phones]
            domains = [domain(i) for i in range(n_domains)]
            schools = []
            for i in range(1000):
                name = f"{TYPES[i % 4]} {NAMES[i % len(NAMES)]} {i // 60 or ''}".strip()
                key = name_key(name)
                schools.append(SchoolRecord(id=f"S{i:04d}", name=name, province="Cà Mau", commune=f"Xã {i % 60}",
                                            phones=(f"+84290{3800000 + i}",), website_host=f"school{i}.edu.vn",
                                            name_key=key.padded, type_key=key.type_key))
            start = time.perf_counter()
            await db.run(load, phones, domains, schools)
            print(f"loaded {len(phones):,} numbers, {len(domains):,} domains, {len(schools):,} schools, "
                  f"20,000 reports in {time.perf_counter() - start:.1f} s")
            reqs = requests(rng, phones, domains, schools, n_checks)
            # The million-entry lists are the benchmark's own; a bot process never holds them. Dropping them
            # keeps the garbage collector's full passes (which walk every live list) out of the figures.
            del phones, domains
            gc.collect()
            await db.run(timed_in_thread, reqs[:200])  # warm caches (compiled SQL, suffix list, regexes)
            inner = await db.run(timed_in_thread, reqs)
            print(f"check function ({n_checks:,} checks): {percentiles(inner)}")
            outer = []
            for req in reqs:
                start = time.perf_counter()
                await db.run(check, req, cipher=CIPHER)
                outer.append(time.perf_counter() - start)
            print(f"end to end via Database.run: {percentiles(outer)}")
            p99 = statistics.quantiles(outer, n=100)[98] * 1000
            load1 = os.getloadavg()[0]
            print(f"target p99 < 5 ms: {'met' if p99 < 5 else 'NOT met'}  (load average {load1:.2f} on "
                  f"{os.cpu_count()} CPUs: other work on the machine shows up in p99)")
        finally:
            await db.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--checks", type=int, default=5000)
    parser.add_argument("--phones", type=int, default=1_000_000)
    parser.add_argument("--domains", type=int, default=100_000)
    args = parser.parse_args()
    asyncio.run(main(args.checks, args.phones, args.domains))
