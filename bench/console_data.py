"""Fill a migrated database with many tips fast, for the console benchmark (not through the dialogue).

Rows are written the way :func:`storage.tips.create_tip` writes them — a tip, its case with plain facets, its
tags, its keyed search terms and its indicators — but in large batches, and with a placeholder instead of a
sealed report for the bulk (a million AES-GCM seals would measure the generator, not the console). The tips a
benchmark opens are filed with the real ``create_tip``.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from storage.cases import hashed, indicator_terms, word_terms
from storage.crypto import Cipher
from storage.indicators import rows as indicator_rows
from storage.schema import tip_indicators, tips
from storage.workflow_schema import tip_cases, tip_tags, tip_terms

PRETEXTS = ("update_records", "student_id", "install_app", "fee_refund", "emergency", "other")
ASKED = ("otp", "bank_account", "money", "install_app", "link")
CHANNELS = ("web", "telegram", "zalo", "api")
UNITS = ("CA-TT", "CA-TL", "CA-96")
COMMUNES = {"CA-TT": "31993", "CA-TL": "32014", "CA-96": None}
WORDS = tuple(
    "phu huynh cai ung dung so lien lac dien tu xac nhan ma dinh danh hoc sinh bo sung ho so chuyen khoan "  # noqa: SIM905
    "giao vien chu nhiem hieu truong link tai app".split())
HOT_NUMBER = "+84912000111"  # present in exactly ``hot`` tips
START = datetime(2026, 1, 1, tzinfo=UTC)


def _rows(first_id: int, count: int, rng: random.Random, hot_ids: set[int], cipher: Cipher,
          minutes_per_tip: float) -> Iterator[tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]],
                                               list[dict[str, Any]], list[dict[str, Any]]]]:
    hot_term = hashed(cipher, indicator_terms([("phone", HOT_NUMBER)]))[0]
    for tip_id in range(first_id, first_id + count):
        created = START + timedelta(minutes=minutes_per_tip * (tip_id - 1))
        unit = rng.choice(UNITS)
        priority = rng.choices((0, 1, 2), weights=(85, 10, 5))[0]
        status = rng.choices(("new", "in_review", "investigating", "closed"), weights=(10, 5, 5, 80))[0]
        reference = f"TG-2026-{tip_id:07d}"
        tip = {"id": tip_id, "reference": reference, "channel": rng.choice(CHANNELS), "reporter_ref": f"r{tip_id}",
               "reporter": None, "urgent": priority > 0, "status": status, "data": "-", "created_at": created}
        case = {"tip_id": tip_id, "reference": reference, "kind": rng.choices(("report", "handoff"), (95, 5))[0],
                "status": status, "is_open": status != "closed", "outcome": "confirmed_scam" if status == "closed"
                else None, "priority": priority, "urgent": priority > 0, "unit_id": unit,
                "commune_code": COMMUNES[unit], "pretext": rng.choice(PRETEXTS),
                "verdict": rng.choice(("scam", "suspicious", None)), "channel": tip["channel"],
                "contact_channel": rng.choice(("call", "sms", "zalo")), "money_lost": priority == 2,
                "amount_vnd": rng.randrange(1, 50) * 1_000_000 if priority == 2 else None, "assignee_id": None,
                "first_action_due": created + timedelta(minutes=15) if priority == 2 else None,
                "created_at": created, "updated_at": created, "reply_received": False, "handoff_state": None}
        tags = [{"facet": "asked", "value": v, "tip_id": tip_id} for v in rng.sample(ASKED, 2)]
        number = HOT_NUMBER if tip_id in hot_ids else f"+849{rng.randrange(10**7, 10**8)}"
        terms = [{"term": t, "tip_id": tip_id} for t in hashed(
            cipher, indicator_terms([("phone", number)]) + word_terms(" ".join(rng.sample(WORDS, 5))))]
        if tip_id in hot_ids:
            assert terms[0]["term"] == hot_term
        # Written as create_tip writes them: blind index and sealed value (one AES-GCM seal per tip).
        indicators = indicator_rows(cipher, tip_id=tip_id, pairs=[("phone", number)], reporter_key=f"k{tip_id}",
                                    origin_key=None, created_at=created)
        yield tip, case, tags, terms, indicators


Batch = dict[str, list[dict[str, Any]]]


def batches(*, count: int, hot: int, cipher: Cipher, batch: int = 20_000, seed: int = 7,
            span_days: int = 330) -> Iterator[Batch]:
    """Rows for ``count`` tips (ids 1…count) in batches; ``hot`` of them name :data:`HOT_NUMBER`."""
    rng = random.Random(seed)
    hot_ids = set(rng.sample(range(1, count + 1), hot))
    per_tip = span_days * 1440 / count
    done = 0
    while done < count:
        n = min(batch, count - done)
        out: Batch = {"tips": [], "tip_cases": [], "tip_tags": [], "tip_terms": [], "tip_indicators": []}
        for tip, case, tags, terms, indicators in _rows(done + 1, n, rng, hot_ids, cipher, per_tip):
            out["tips"].append(tip)
            out["tip_cases"].append(case)
            out["tip_tags"] += tags
            out["tip_terms"] += terms
            out["tip_indicators"] += indicators
        done += n
        yield out


def insert_batch(conn: sa.Connection, *, rows: Batch) -> None:
    """One batch, one transaction (a unit of work for ``Database.run``)."""
    for table in (tips, tip_cases, tip_tags, tip_terms, tip_indicators):
        conn.execute(sa.insert(table), rows[table.name])
