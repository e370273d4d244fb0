"""``server.cpu`` / ``hotline serve --cpu``: every thread of the server runs on that CPU, the evidence workers it
starts get back the CPUs it had, and a CPU it may not use stops it with one line naming the setting."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.e2e.servers import HOTLINE, env_for, free_port, serving

pytestmark = pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="CPU affinity is Linux's")
CPUS = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else [0]


def _allowed(pid: int) -> dict[int, set[int]]:
    """Each thread of ``pid`` and the CPUs it may run on."""
    out = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        out[int(task.name)] = set(os.sched_getaffinity(int(task.name)))
    return out


@pytest.mark.slow  # ~3 s: a server process
def test_every_thread_of_a_pinned_server_runs_on_its_cpu(tmp_path: Path) -> None:
    cpu = CPUS[-1]
    with serving(tmp_path, "--cpu", str(cpu)) as (base, proc):
        # A chat message: the SQLite writer and the executors' threads exist now too.
        answer = httpx.post(f"{base}/api/v1/messages", json={"user_id": "p1", "text": "xin chào"}, timeout=10)
        assert answer.status_code == 200 and answer.json()["messages"]
        threads = _allowed(proc.pid)
        assert len(threads) > 2 and all(allowed == {cpu} for allowed in threads.values()), threads


def test_evidence_workers_get_back_the_cpus_the_server_had() -> None:
    script = (
        "import asyncio, os\n"
        "from handlers.cpu import pin\n"
        "from handlers.evidence.limits import Limits\n"
        "from handlers.evidence.pool import EvidencePool\n"
        f"pin({CPUS[0]})\n"
        "async def main():\n"
        "    pool = EvidencePool(Limits())\n"
        "    try:\n"
        "        worker = await pool.run(os.sched_getaffinity, 0)\n"
        "    finally:\n"
        "        pool.close()\n"
        "    print(sorted(os.sched_getaffinity(0)), sorted(worker))\n"
        "asyncio.run(main())\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.stdout.split("] [") == [f"[{CPUS[0]}", ", ".join(map(str, CPUS)) + "]\n"], done


@pytest.mark.parametrize("how", ["flag", "setting"])
def test_a_cpu_it_may_not_use_is_one_line_naming_the_setting(tmp_path: Path, how: str) -> None:
    cpu = str(max(CPUS) + 64)
    args, extra = (["--cpu", cpu], {}) if how == "flag" else ([], {"HOTLINE_SERVER__CPU": cpu})
    done = subprocess.run([HOTLINE, "serve", "--port", str(free_port()), *args], cwd=tmp_path,
                          env=env_for(tmp_path, **extra), capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2, done
    assert f"server.cpu: CPU {cpu} is not one this process may use" in done.stderr
    assert "Traceback" not in done.stderr
