"""Dependency and code audit: pip-audit over the pinned constraints, bandit over our code.

pip-audit asks the package index for advisories. Where the index (or a mirror) does not answer for a
package, pip-audit skips it and still exits 0; this script counts those and says so plainly, so an
unreachable advisory service is never mistaken for a clean bill of health.
Exit status: 0 clean, 1 findings, 2 could not audit everything.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CODE = ["bot", "handlers", "storage", "nlu"]


def pip_audit() -> int:
    cmd = [str(BIN / "pip-audit"), "-r", str(REPO / "constraints.txt"), "--vulnerability-service", "pypi",
           "--progress-spinner", "off", "--format", "json", "--no-deps"]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)  # noqa: S603
    except subprocess.TimeoutExpired:
        print("pip-audit: the advisory service did not answer within 10 minutes — NOT audited")
        return 2
    try:
        report = json.loads(out.stdout or "{}")
    except json.JSONDecodeError:
        print("pip-audit failed:", (out.stderr or out.stdout).strip().splitlines()[-1:])
        return 2
    deps = report.get("dependencies", [])
    skipped = [d for d in deps if d.get("skip_reason")]
    vulnerable = [d for d in deps if d.get("vulns")]
    for dep in vulnerable:
        for v in dep["vulns"]:
            print(f"VULNERABLE {dep['name']} {dep['version']}: {v['id']} (fix: {', '.join(v.get('fix_versions', []))})")
    audited = len(deps) - len(skipped)
    print(f"pip-audit: {audited} of {len(deps)} pinned packages checked against advisories; "
          f"{len(vulnerable)} vulnerable")
    if skipped:
        print(f"pip-audit: {len(skipped)} package(s) could NOT be checked (the index gave no advisory data), e.g. "
              + ", ".join(d["name"] for d in skipped[:8]))
    if vulnerable:
        return 1
    return 2 if skipped else 0


def bandit() -> int:
    cmd = [str(BIN / "bandit"), "-q", "-r", *CODE, "-c", str(REPO / "pyproject.toml")]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, check=False)  # noqa: S603
    print(out.stdout.strip() or "bandit: no issues")
    return 0 if out.returncode == 0 else 1


if __name__ == "__main__":
    results = [bandit(), pip_audit()]
    sys.exit(max(results))
