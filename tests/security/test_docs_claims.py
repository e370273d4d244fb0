"""SECURITY.md and PRIVACY.md stay true: every test they cite exists, every row names its proof, and the claims
no other test covers are checked here (what the first message says, consent and erasure records)."""

from __future__ import annotations

import re
from pathlib import Path

import sqlalchemy as sa
import yaml

from bot.settings import Settings
from storage.db import Database
from storage.schema import audit_log, tip_indicators
from tests.chat import Chat, make_engine, tip_rows
from tests.conftest import REPO

DOCS = [REPO / "SECURITY.md", REPO / "PRIVACY.md"]
CITED = re.compile(r"`?(tests/[\w/]+\.py)::(test_\w+)`?")
NO_TEST = "no test:"  # a row that is a duty of the operator, not a property of the code, says so


def cited(doc: Path) -> list[tuple[str, str]]:
    return CITED.findall(doc.read_text(encoding="utf-8"))


def test_every_test_the_docs_name_exists() -> None:
    missing = []
    for doc in DOCS:
        found = cited(doc)
        assert len(found) >= 15, f"{doc.name} cites only {len(found)} tests"
        for path, name in found:
            source = REPO / path
            if not source.exists() or not re.search(rf"^(async )?def {name}\(", source.read_text(encoding="utf-8"),
                                                    re.MULTILINE):
                missing.append(f"{doc.name}: {path}::{name}")
    assert not missing, "cited tests that do not exist:\n" + "\n".join(missing)


def test_every_claim_row_names_its_proof() -> None:
    """Each row of the threat table and the obligations table cites a test, or says why none can prove it."""
    bare = []
    for doc in DOCS:
        for line in doc.read_text(encoding="utf-8").splitlines():
            if not line.startswith("| ") or set(line) <= set("|- ") or line.startswith(("| attacker", "| obligation")):
                continue
            if not CITED.search(line) and NO_TEST not in line:
                bare.append(f"{doc.name}: {line[:100]}")
    assert not bare, "rows without a proof:\n" + "\n".join(bare)


def _text(flow_file: str, flow: str, step: str) -> dict[str, str]:
    flows = yaml.safe_load((REPO / "handlers" / "flows" / flow_file).read_text(encoding="utf-8"))["flows"]
    (found,) = [s for f in flows if f["id"] == flow for s in f["steps"] if s["id"] == step]
    return dict(found["text"])


def test_the_first_message_and_my_data_say_who_why_how_long_and_that_replies_are_automated() -> None:
    """PRIVACY.md, "Lawful, stated purpose": the texts, and the periods they name are the configured defaults."""
    retention = Settings().retention
    welcome, notice = _text("main.yaml", "main", "welcome"), _text("info.yaml", "privacy", "notice")
    for text in (welcome["vi"], notice["vi"]):
        assert "{police_name}" in text and f"{retention.closed_tip_days} ngày" in text
        assert "tự động" in text and "gặp cán bộ" in text
    assert "ẩn danh" in welcome["vi"] and "ẩn danh" in notice["vi"].lower()
    assert f"{retention.conversation_days} ngày" in notice["vi"] and "xóa dữ liệu của tôi" in notice["vi"]
    assert "anonymously" in welcome["en"] and "automated" in welcome["en"]
    assert f"{retention.closed_tip_days} days" in welcome["en"]


async def test_consent_is_recorded_with_its_time_and_wording_and_forgetting_is_audited(sqlite_db: Database) -> None:
    """PRIVACY.md, "Consent, recorded" and "Right to deletion": the tip keeps when and to what the parent agreed;
    "xóa dữ liệu của tôi" unlinks the tip's indicators from the chat and leaves an audit row naming only the chat's
    keyed hash."""
    chat = Chat(make_engine(sqlite_db))
    await chat.send("báo cáo")
    await chat.press("Cuộc gọi")
    await chat.send("0377 123 999")  # the caller: the tip names it (an indicator row with the reporter's hash)
    for _ in range(12):
        if "liên hệ lại" in chat.text():
            break
        await chat.send("bỏ qua" if "Bỏ qua" in chat.buttons() else "2")
    await chat.press("Đồng ý")
    await chat.send("0988777666")
    await chat.press("Gửi báo cáo")
    (tip,) = await tip_rows(sqlite_db)
    consent = tip["data"]["consent"]
    assert consent["contact"] is True and consent["wording"] == "report.v1" and consent["recorded_at"]
    hashes = await sqlite_db.run(lambda c: c.execute(sa.select(tip_indicators.c.reporter_key)).scalars().all())
    assert hashes
    await chat.send("xóa dữ liệu của tôi")
    await chat.press("Xóa dữ liệu")
    after = await sqlite_db.run(lambda c: c.execute(sa.select(tip_indicators.c.reporter_key,
                                                              tip_indicators.c.origin_key)).all())
    # The indicator rows' reporter hash could be recomputed from the chat id: it is replaced, the address dropped.
    assert not {k for k, _o in after} & set(hashes) and all(o is None for _k, o in after)
    entries = await sqlite_db.run(lambda c: [dict(r) for r in c.execute(
        sa.select(audit_log).where(audit_log.c.action == "forget")).mappings()])
    assert len(entries) == 1 and entries[0]["actor"] == "parent"
    assert "0988777666" not in str(entries) and len(entries[0]["subject"]) == 64
