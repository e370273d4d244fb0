"""./dev bench's collector: a benchmark's printed figures become report rows, its output is kept, a failing one
is reported as failing."""

from __future__ import annotations

from pathlib import Path

from bench.report_md import render
from bench.run_all import run_one

SCRIPT = '''
import sys
sys.path.insert(0, {repo!r})
from bench.report_figures import figure
print("warming up")
figure("chat p99", 87.5, "ms", target="< 100 ms", met=True, note="50 parents")
figure("stored per report", 5120.0, "B", target="≤ 4 kB", met=False)
sys.exit({code})
'''


def _bench(tmp_path: Path, code: int) -> Path:
    script = tmp_path / "bench_fake.py"
    script.write_text(SCRIPT.format(repo=str(Path(__file__).resolve().parents[2]), code=code), encoding="utf-8")
    return script


def test_figures_and_output_reach_the_report(tmp_path: Path) -> None:
    result = run_one(_bench(tmp_path, 0), full=False)
    assert result["status"] == "ok"
    figures = result["figures"]
    assert isinstance(figures, list)
    assert [(f["name"], f["value"], f["met"]) for f in figures] == [("chat p99", 87.5, True),
                                                                    ("stored per report", 5120.0, False)]
    assert all(f["load"] for f in figures)  # every figure carries the load average
    output = result["output"]
    assert isinstance(output, list) and "warming up" in output and not any(x.startswith("FIGURE") for x in output)
    md = render({"machine": {"date": "2026-12-02 18:00 UTC", "cpu": "cpu", "cores": 2, "memory_gb": 24, "os": "Linux",
                             "python": "3.11", "load": "1.00 1.00 1.00"}, "suite": "default sizes", "seconds": 3.0,
                 "load_after": "1.00 1.00 1.00", "benchmarks": [result]})
    assert "| chat p99 | 88 | ms | < 100 ms | met |" in md
    assert "| stored per report | 5,120 | B | ≤ 4 kB | **not met** |" in md


def test_a_failing_benchmark_is_reported_not_dropped(tmp_path: Path) -> None:
    result = run_one(_bench(tmp_path, 3), full=False)
    assert result["status"] == "exit 3"
    figures = result["figures"]
    assert isinstance(figures, list) and len(figures) == 2  # what it printed before failing is kept
