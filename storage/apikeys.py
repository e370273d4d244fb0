"""API keys for integrations that use ``POST /api/v1/messages`` (``hotline apikeys add/list/revoke``).

A key is ``hk_<key id>_<secret>``: the key id finds the row, the secret is compared by its SHA-256 (the
secret is 256 random bits, so a plain hash is as good as a slow one and keeps every request cheap). The
database alone therefore never yields a usable key. Each key is scoped to a user-id prefix: an integration
speaks only for its own parents.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from storage.harden_schema import api_keys

_TOKEN = re.compile(r"^hk_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{43})$")
NAME = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
PREFIX = re.compile(r"^[\w.:@-]{1,128}$")


class ApiKeyError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class ApiKey:
    name: str
    key_id: str
    secret_sha256: str
    user_prefix: str

    def matches(self, secret: str) -> bool:
        return hmac.compare_digest(_digest(secret), self.secret_sha256)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def split_token(token: str) -> tuple[str, str] | None:
    m = _TOKEN.match(token)
    return (m.group(1), m.group(2)) if m else None


def add_key(conn: sa.Connection, *, name: str, user_prefix: str, now: datetime) -> str:
    """Create a key and return it; this is the only time the whole key exists outside the client."""
    if not NAME.match(name):
        raise ApiKeyError("name: letters, digits, '.', '_' or '-', at most 64")
    if not PREFIX.match(user_prefix):
        raise ApiKeyError("user prefix: the characters a user_id may hold ([A-Za-z0-9_.:@-]), at most 128")
    if conn.execute(sa.select(api_keys.c.id).where(api_keys.c.name == name)).first() is not None:
        raise ApiKeyError(f"a key named {name!r} exists (revoke it, or choose another name)")
    key_id = "".join(secrets.choice("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789") for _ in range(12))
    secret = secrets.token_urlsafe(32)  # 43 characters
    conn.execute(sa.insert(api_keys).values(name=name, key_id=key_id, secret_sha256=_digest(secret),
                                            user_prefix=user_prefix, created_at=now))
    return f"hk_{key_id}_{secret}"


def active_keys(conn: sa.Connection) -> dict[str, ApiKey]:
    rows = conn.execute(sa.select(api_keys).where(api_keys.c.revoked_at.is_(None))).mappings()
    return {r["key_id"]: ApiKey(r["name"], r["key_id"], r["secret_sha256"], r["user_prefix"]) for r in rows}


def list_keys(conn: sa.Connection) -> list[dict[str, Any]]:
    rows = conn.execute(sa.select(api_keys.c.name, api_keys.c.key_id, api_keys.c.user_prefix,
                                  api_keys.c.created_at, api_keys.c.revoked_at).order_by(api_keys.c.id))
    return [dict(r) for r in rows.mappings()]


def revoke(conn: sa.Connection, *, name: str, now: datetime) -> bool:
    result = conn.execute(sa.update(api_keys).where(api_keys.c.name == name, api_keys.c.revoked_at.is_(None))
                          .values(revoked_at=now))
    return result.rowcount > 0
