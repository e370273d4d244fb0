"""What a tip's ``evidence`` slot holds, read back where a tip is filed (light: no imaging imports)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_ACCOUNT = re.compile(r"^[0-9A-Za-z]{6,19}$")


def evidence_accounts(slots: Mapping[str, Any]) -> list[str]:
    """Bank accounts that payment QR codes sent with the report pay into: they join the tip's cluster keys."""
    evidence = slots.get("evidence")
    if not isinstance(evidence, Mapping):
        return []
    out = []
    for item in evidence.get("accounts") or ():
        account = item.get("account") if isinstance(item, Mapping) else None
        if isinstance(account, str) and _ACCOUNT.match(account):
            out.append(account)
    return list(dict.fromkeys(out))
