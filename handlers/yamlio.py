"""YAML read with libyaml's C parser when PyYAML was built with it (the wheels are), else the pure-Python one.

Start-up parses every flow, the check rules, the console's strings and the evidence tables: with the pure-Python
parser that was ~0.4 s of a ~2 s start (bench/bench_startup.py). Both are *safe* loaders — plain data only —
and build the same values; a syntax error carries its ``problem_mark`` (line) either way.
"""

from __future__ import annotations

from typing import Any

import yaml

_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str) -> Any:
    """Like :func:`yaml.safe_load`, faster."""
    return yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader (CSafeLoader / SafeLoader)
