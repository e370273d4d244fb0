"""What every benchmark prints beside its figures: the machine, its load, and figures the report can collect.

A benchmark calls :func:`figure` for each number it wants in ``bench/report.json``: it prints the usual
human line and one ``FIGURE {json}`` line that ``bench/run_all.py`` picks out of the output. Everything else a
benchmark prints is kept verbatim in the report, so older scripts need no change to be collected.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

PREFIX = "FIGURE "


def load() -> str:
    """The 1/5/15-minute load average, as printed beside every figure (the machine is shared)."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def machine() -> dict[str, Any]:
    """Date, CPU, cores, memory, OS and Python of this run."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = None
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        mem_gb = round(pages * size / 2**30, 1)
    except (ValueError, OSError):
        pass
    return {"date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "cpu": cpu, "cores": os.cpu_count(),
            "memory_gb": mem_gb, "os": f"{platform.system()} {platform.release()}",
            "python": sys.version.split()[0], "load": load()}


def figure(name: str, value: float | None, unit: str, *, target: str | None = None, met: bool | None = None,
           note: str = "", quiet: bool = False) -> dict[str, Any]:
    """Print one figure (human line + ``FIGURE`` line) with the load average at the moment it was taken."""
    row = {"name": name, "value": value, "unit": unit, "target": target, "met": met, "note": note, "load": load()}
    if not quiet:
        shown = "n/a" if value is None else (f"{value:,.3f}" if isinstance(value, float) and value < 10
                                             else f"{value:,.0f}" if isinstance(value, float) else f"{value:,}")
        verdict = "" if met is None else ("  MET" if met else "  NOT MET")
        goal = f"  (target {target}{verdict})" if target else ""
        extra = f"  {note}" if note else ""
        print(f"{name:<52} {shown:>10} {unit:<6}{goal}{extra}  [load {row['load']}]")
    print(PREFIX + json.dumps(row, ensure_ascii=False), flush=True)
    return row


def parse_figures(output: str) -> list[dict[str, Any]]:
    """The ``FIGURE`` rows in a benchmark's output."""
    rows = []
    for line in output.splitlines():
        if line.startswith(PREFIX):
            try:
                rows.append(json.loads(line[len(PREFIX):]))
            except json.JSONDecodeError:
                continue
    return rows


def export_tree(revision: str, dest: Path) -> Path:
    """Revision ``revision`` of this repository as plain files in ``dest`` (run with this venv via PYTHONPATH), so
    a benchmark can measure before and after in one run, under the same load."""
    import subprocess

    repo = Path(__file__).resolve().parents[1]
    dest.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "archive", revision], cwd=repo, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    return dest
