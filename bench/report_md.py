"""bench/report.md from the report bench/run_all.py collects (the same data as bench/report.json)."""

from __future__ import annotations

import re
from typing import Any

_VERDICT = re.compile(r"\btarget\b|\bPASS\b|\bFAIL\b|\bMET\b|NOT met")


def _value(row: dict[str, Any]) -> str:
    value = row.get("value")
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.0f}"
    return f"{value:,}"


def _verdict(row: dict[str, Any]) -> str:
    if row.get("met") is None:
        return ""
    return "met" if row["met"] else "**not met**"


def render(report: dict[str, Any]) -> str:
    """Markdown: the machine, every figure that has a target, then each benchmark's figures and output."""
    m = report["machine"]
    out = [
        "# Hotline benchmark report",
        "",
        f"- date: {m['date']}; suite: {report['suite']}; {report['seconds']:.0f} s in all",
        f"- machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB, {m['os']}, Python {m['python']}",
        f"- load average (1/5/15 min) at start {m['load']}, at the end {report['load_after']}: the machine is "
        "shared, so every figure below carries the load at the moment it was taken; compare figures of one run "
        "side by side, not with another run's.",
        "- written by `./dev bench` (bench/run_all.py); the same data in bench/report.json; chat profiles in "
        "bench/profiles/.",
        "",
        "## Figures with a target",
        "",
        "| figure | value | unit | target | | load |",
        "| --- | ---: | --- | --- | --- | --- |",
    ]
    for bench in report["benchmarks"]:
        for row in bench["figures"]:
            if row.get("target"):
                out.append(f"| {row['name']} | {_value(row)} | {row['unit']} | {row['target']} | {_verdict(row)} "
                           f"| {row['load']} |")
    # Benchmarks that print their own verdicts (no FIGURE lines): those lines, as they printed them.
    verdicts = [(b["name"], line.strip()) for b in report["benchmarks"] if not b["figures"] for line in b["output"]
                if _VERDICT.search(line)]
    if verdicts:
        out += ["", "Verdicts printed by the other benchmarks (their own wording):", ""]
        out += [f"- {name}: `{line}`" for name, line in verdicts]
    for bench in report["benchmarks"]:
        out += ["", f"## {bench['name']}", "",
                f"`{' '.join(['python', 'bench/' + bench['name'] + '.py', *bench['args']])}` — {bench['status']} in "
                f"{bench['seconds']:.0f} s, load {bench['load_before']} → {bench['load_after']}", ""]
        if bench["figures"]:
            out += ["| figure | value | unit | target | | note | load |",
                    "| --- | ---: | --- | --- | --- | --- | --- |"]
            for row in bench["figures"]:
                out.append(f"| {row['name']} | {_value(row)} | {row['unit']} | {row.get('target') or ''} | "
                           f"{_verdict(row)} | {row.get('note') or ''} | {row['load']} |")
            out.append("")
        out += ["<details><summary>output</summary>", "", "```", *bench["output"], "```", "", "</details>"]
    return "\n".join(out) + "\n"
