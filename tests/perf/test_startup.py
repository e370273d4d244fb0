"""Start-up: `hotline --help` loads no heavy library, the lazy command table tells the truth, and `serve` says
"listening" only once it answers."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import click
import httpx
import pytest

from bot.cli import LAZY_COMMANDS, cli
from tests.e2e.servers import HOTLINE, env_for, free_port

HEAVY = ("sqlalchemy", "numpy", "sklearn", "scipy", "PIL", "cryptography", "fastapi", "handlers", "storage")


def test_help_imports_no_heavy_library(tmp_path: Path) -> None:
    script = ("import sys\nfrom bot.cli import cli\ntry:\n    cli(['--help'])\nexcept SystemExit:\n    pass\n"
              f"print('\\n' + repr(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path,
                         env=env_for(tmp_path), timeout=60, check=True)
    assert "serve" in out.stdout and "users" in out.stdout  # the listing is complete without the imports
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_every_lazy_command_is_listed_with_its_own_help() -> None:
    ctx = click.Context(cli)
    for name, (_target, summary) in LAZY_COMMANDS.items():
        command = cli.get_command(ctx, name)
        assert command is not None and command.name == name, name
        assert command.get_short_help_str(10_000) == click.Command(name, help=summary).get_short_help_str(10_000), (
            f"bot/cli.py LAZY_COMMANDS[{name!r}]: the one-line help must match the command's own")


def test_units_import_is_reachable_through_the_lazy_import_group() -> None:
    group = cli.get_command(click.Context(cli), "import")
    assert isinstance(group, click.Group)
    assert {"schools", "blocklist", "units"} <= set(group.list_commands(click.Context(group)))


@pytest.mark.slow  # ~2 s: a server process
def test_serve_says_listening_only_when_it_answers(tmp_path: Path) -> None:
    """Regression: the first start printed "listening" and answered nothing while it trained its model."""
    port = free_port()
    env = env_for(tmp_path, HOTLINE_NLU__MODEL_PATH=str(tmp_path / "no-model-yet.npz"))  # as on a fresh install
    proc = subprocess.Popen([HOTLINE, "serve", "--port", str(port)], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 120
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if "listening" in line:
                break
            assert time.monotonic() < deadline, "".join(lines)
        else:
            raise AssertionError("serve exited: " + "".join(lines))
        # One request, no retry: it must be answered now.
        reply = httpx.post(f"http://127.0.0.1:{port}/api/v1/messages", timeout=30,
                           json={"user_id": "parent-1", "text": "tôi muốn báo cáo cuộc gọi lạ"})
        assert reply.status_code == 200, reply.text
        assert reply.json()["messages"], json.dumps(reply.json(), ensure_ascii=False)
        assert not (tmp_path / "no-model-yet.npz").exists()  # the shipped model answered: nothing was trained
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()
