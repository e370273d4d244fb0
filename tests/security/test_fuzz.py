"""Generated input against the HTTP message endpoint and the CSV importers: never a 5xx, never a crash.

Hypothesis, on a real SQLite database and the real ASGI app. Two strengths: ``quick`` (default, a few hundred
examples) and ``full`` (marked ``slow``: 10,000 examples per endpoint and importer, what ``./dev test`` runs
too). Every other endpoint is fuzzed in ``test_fuzz_endpoints.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.runtime import build_runtime
from bot.settings import Settings
from bot.web import create_app
from handlers.checks.csv_import import parse_blocklist_csv, parse_schools_csv

STRENGTHS = [pytest.param("quick"), pytest.param("full", marks=pytest.mark.slow)]
EXAMPLES = {"quick": 300, "full": 10_000}
RAW_EXAMPLES = {"quick": 100, "full": 2_000}


def fuzz(strength: str, examples: dict[str, int] = EXAMPLES) -> settings:
    return settings(max_examples=examples[strength], deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

texts = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=300)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | texts,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(texts, children, max_size=4),
    max_leaves=10,
)
message_bodies = st.fixed_dictionaries(
    {},
    optional={
        "user_id": st.one_of(texts, st.sampled_from(["parent-1", "parent-2", "a:b@c"]), st.integers()),
        "text": st.one_of(texts, st.sampled_from(["báo cáo", "menu", "1", "hủy", "0377123999", "xong"]), json_values),
        "payload": st.one_of(texts, st.sampled_from(["report", "call", "!skip", "!done", "!submit", "!edit:3"])),
        "message_id": st.one_of(texts, st.integers()),
        "locale": st.one_of(texts, st.sampled_from(["vi", "en"])),
        "attachments": st.lists(st.dictionaries(texts, json_values, max_size=3), max_size=2),
        "extra": json_values,
    },
)


class Client:
    """The real ASGI app in-process, driven synchronously so hypothesis can call it per example."""

    def __init__(self, work: Path) -> None:
        self.loop = asyncio.new_event_loop()
        settings_ = Settings.model_validate({
            "database": {"url": f"sqlite+aiosqlite:///{work / 'h.db'}"}, "data_dir": str(work / "data"),
            "security": {"key_file": str(work / "keys.json"), "user_burst": 1_000_000,
                         # thousands of requests from one test client: not what the per-address limit is for
                         "address_burst": 1_000_000, "address_per_minute": 1_000_000,
                         "global_per_second": 1_000_000},
            "logging": {"file": None},
        })
        self.runtime = self.loop.run_until_complete(build_runtime(settings_))
        transport = httpx.ASGITransport(app=create_app(self.runtime))
        self.http = httpx.AsyncClient(transport=transport, base_url="http://hotline.test")

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.loop.run_until_complete(self.http.post(path, **kwargs))

    def close(self) -> None:
        self.loop.run_until_complete(self.http.aclose())
        self.loop.run_until_complete(self.runtime.close())
        self.loop.close()


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    c = Client(tmp_path_factory.mktemp("fuzz"))
    yield c
    c.close()


@pytest.mark.parametrize("strength", STRENGTHS)
def test_message_endpoint_never_fails(client: Client, strength: str) -> None:
    @fuzz(strength)
    @given(body=message_bodies)
    def call(body: dict[str, Any]) -> None:
        r = client.post("/api/v1/messages", json=body)
        assert r.status_code in (200, 400, 413, 422), r.text
        data = r.json()
        assert ("messages" in data) if r.status_code == 200 else isinstance(data["error"]["message"], str)

    call()


@pytest.mark.parametrize("strength", STRENGTHS)
def test_message_endpoint_survives_raw_bytes(client: Client, strength: str) -> None:
    @fuzz(strength, RAW_EXAMPLES)
    @given(raw=st.binary(max_size=2_000))
    def call(raw: bytes) -> None:
        r = client.post("/api/v1/messages", content=raw, headers={"content-type": "application/json"})
        assert r.status_code in (200, 400, 413, 422)

    call()


SCHOOL_HEADER = "school_id,name,province,commune,official_phones,contact_book_app,website"
cells = st.one_of(texts.filter(lambda t: "\n" not in t and "\r" not in t),
                  st.sampled_from(["0296 384 1234", "0912.000.111;+84 296 3870 321", "1900 1234", "abc",
                                   "vnedu.vn", "http://thcs.edu.vn", "", '"quoted, cell"']))
rows = st.lists(st.lists(cells, min_size=0, max_size=9).map(lambda cs: ",".join(cs)), max_size=6)


@pytest.mark.parametrize("strength", STRENGTHS)
def test_school_csv_parser_never_crashes(strength: str) -> None:
    @fuzz(strength)
    @given(body=rows, bom=st.booleans(), header=st.sampled_from([SCHOOL_HEADER, "school_id,name", ""]))
    def call(body: list[str], bom: bool, header: str) -> None:
        data = (("\ufeff" if bom else "") + "\n".join([header, *body])).encode()
        try:
            parsed = parse_schools_csv(data)
        except ValueError:
            return  # an unusable file (bad header) is a clear error, not a crash
        for school in parsed.rows:  # every loaded row is whole: an id, a name, only valid numbers
            assert school.id and school.name
            assert all(p.startswith("+84") for p in school.phones)
        assert {p.line for p in parsed.skipped} <= set(range(2, len(body) + 2))

    call()


@pytest.mark.parametrize("strength", STRENGTHS)
def test_blocklist_csv_parser_never_crashes(strength: str) -> None:
    @fuzz(strength)
    @given(body=st.lists(st.tuples(st.sampled_from(["phone", "domain", "url", "", "PHONE"]), cells, cells)
                         .map(lambda t: ",".join(t)), max_size=6), junk=st.binary(max_size=64))
    def call(body: list[str], junk: bytes) -> None:
        for data in ("\n".join(["kind,value,note", *body]).encode(), junk):
            try:
                parsed = parse_blocklist_csv(data)
            except ValueError:
                continue
            for entry in parsed.rows:
                assert entry.kind in ("phone", "domain") and entry.value

    call()


def test_csv_import_loads_whole_rows_or_none(tmp_path: Path) -> None:
    """A file with good and bad rows through the real CLI: good rows land complete, bad ones not at all."""
    import sqlite3
    import subprocess

    from tests.e2e.servers import HOTLINE, env_for

    csv_path = tmp_path / "schools.csv"
    csv_path.write_text("\n".join([
        SCHOOL_HEADER,
        "S1,Trường THCS Một,Cà Mau,Phường 1,0290 383 1111,vnEdu,",
        "S2,Trường THCS Hai,Cà Mau,Phường 2,0290 383 2222;not-a-phone,vnEdu,",
        "S3,,Cà Mau,Phường 3,0290 383 3333,vnEdu,",
    ]), encoding="utf-8")
    out = subprocess.run([HOTLINE, "import", "schools", str(csv_path)], capture_output=True, text=True,
                         cwd=tmp_path, env=env_for(tmp_path), timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    assert "line 3" in out.stderr and "line 4" in out.stderr
    with sqlite3.connect(tmp_path / "hotline.db") as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert "schools" in tables
        ids = sorted(r[0] for r in db.execute("SELECT id FROM schools"))
        phones = [r[0] for r in db.execute("SELECT phone FROM school_phones")] if "school_phones" in tables else []
    assert ids == ["S1"]  # the row with a bad phone is skipped whole, not loaded without that phone
    assert phones in ([], ["+842903831111"])
