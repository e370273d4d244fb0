"""The same code on PostgreSQL: `hotline db upgrade`, then `hotline serve`, then a full report."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import httpx
import pytest

from storage.migrate import head_revisions
from tests.conftest import _create_pg_database, _drop_pg_database
from tests.e2e.servers import HOTLINE, env_for, running_server
from tests.security.test_privacy_scan import walk


@pytest.mark.postgres
def test_report_on_postgres(tmp_path: Path, pg_admin_url: str) -> None:
    url = asyncio.run(_create_pg_database(pg_admin_url))
    try:
        env = env_for(tmp_path, HOTLINE_DATABASE__URL=url)
        up = subprocess.run([HOTLINE, "db", "upgrade"], capture_output=True, text=True, env=env, cwd=tmp_path,
                            timeout=60, check=True)
        # Every head revision is named (0005_security is no longer a head: 0016 builds on it).
        assert all(head in up.stdout for head in head_revisions()), up.stdout
        with running_server(tmp_path, HOTLINE_DATABASE__URL=url) as base:
            walk(base, "pg-parent")
            r = httpx.post(f"{base}/api/v1/check", json={"phone": "0377123999", "asked": ["otp"]}, timeout=10)
            assert r.json()["verdict"] == "scam"
        listed = subprocess.run([HOTLINE, "tips", "list"], capture_output=True, text=True, env=env, cwd=tmp_path,
                                timeout=60, check=True)
        assert "TG-20" in listed.stdout
    finally:
        asyncio.run(_drop_pg_database(pg_admin_url, url))
