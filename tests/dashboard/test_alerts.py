"""Campaign alerts over a generated month: exactly the two injected campaigns are alerted (not the near misses,
not once per tip), on SQLite and PostgreSQL, also when two processes file the month at the same time; rules
come from settings; acknowledging, blocklisting and drafting are audited and for supervisors only."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.settings import Settings
from storage import alerts_views as views
from storage.alerts import AlertRules, Rule
from storage.alerts_schema import alert_tips, alerts, awareness_drafts
from storage.crypto import Cipher, cipher_from_file
from storage.db import Database
from storage.indicators import key_of
from storage.reference_schema import blocklist
from storage.schema import audit_log
from storage.workflow import SYSTEM, Viewer, WorkflowError
from storage.workflow_schema import tip_cases
from tests.chat import TEST_CIPHER
from tests.conftest import REPO
from tests.dashboard.month import CAMPAIGN_NUMBER, chunks, expected_alerts, file_specs, generate, load_units

SUPERVISOR = Viewer.officer(7, "supervisor", None)


def raised(conn: sa.Connection) -> list[tuple[str, str, int, int]]:
    rows = conn.execute(sa.select(alerts.c.kind, alerts.c.key, alerts.c.tips, alerts.c.seq).order_by(alerts.c.id))
    return [(r.kind, r.key, r.tips, r.seq) for r in rows]


def keyed(cipher: Cipher, expected: list[tuple[str, str, int]]) -> list[tuple[str, str, int, int]]:
    return [(kind, key if kind == "pretext_commune" else key_of(cipher, kind, key), n, 1) for kind, key, n in expected]


@pytest.mark.slow  # ~12 s: files a month of a province's tips
async def test_the_month_raises_exactly_its_two_campaigns(database: Database) -> None:
    month = generate()
    await database.run(load_units)
    for part in chunks(month.specs, 300):
        await database.run(file_specs, specs=part, cipher=TEST_CIPHER)
    expected = expected_alerts(month.specs)
    assert [(k, key) for k, key, _n in expected] == [("phone", CAMPAIGN_NUMBER),
                                                     ("pretext_commune", "student_id_code@32014")]
    found = await database.run(raised)
    assert sorted(found) == sorted(keyed(TEST_CIPHER, expected))
    assert found[0][2] == 11  # campaign A: 8 in forty minutes, 3 more that afternoon
    # The alert lists its tips, and names the number from its sealed value (no plaintext stored).
    members = await database.run(lambda c: c.execute(sa.select(sa.func.count()).select_from(alert_tips)
                                                     .where(alert_tips.c.alert_id == 1)).scalar())
    assert members == 11
    listed = await database.run(views.list_alerts, viewer=SUPERVISOR, cipher=TEST_CIPHER)
    assert {a.value for a in listed} == {CAMPAIGN_NUMBER, "student_id_code@32014"}
    stored = await database.run(lambda c: c.execute(sa.select(alerts.c.key, alerts.c.value_sealed)).all())
    assert all(CAMPAIGN_NUMBER not in (k + (v or "")) for k, v in stored)


async def test_a_lower_threshold_from_settings_alerts_the_near_misses_too(sqlite_db: Database) -> None:
    settings = Settings.model_validate({"alerts": {"phone": {"threshold": 4, "window_minutes": 30}}})
    rules = AlertRules.from_mapping(settings.alerts.model_dump())
    assert rules.phone == Rule(4, 30) and rules.domain == Rule()
    month = generate(background=300)
    await sqlite_db.run(load_units)
    await sqlite_db.run(file_specs, specs=month.specs, cipher=TEST_CIPHER, rules=rules)
    expected = expected_alerts(month.specs, rules)
    assert ("phone", "+84911000444", 4) in expected  # four reporters in 30 minutes now count
    assert sorted(await sqlite_db.run(raised)) == sorted(keyed(TEST_CIPHER, expected))
    off = AlertRules(enabled=False)
    before = len(await sqlite_db.run(raised))
    await sqlite_db.run(file_specs, specs=generate(background=0).specs, cipher=TEST_CIPHER, rules=off)
    assert len(await sqlite_db.run(raised)) == before


def _run_filers(url: str, key_file: Path, workdir: Path, background: int) -> list[str]:
    start = workdir / "go"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [subprocess.Popen([sys.executable, "-m", "tests.dashboard.filer", url, str(key_file), str(part), "2",
                               str(background), str(start)], cwd=REPO, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) for part in range(2)]
    start.write_text("go")
    outputs = []
    for proc in procs:
        out, _err = proc.communicate(timeout=300)
        assert proc.returncode == 0, out
        outputs.append(out)
    return outputs


@pytest.mark.slow
async def test_two_processes_raise_each_alert_once(database: Database, tmp_path: Path) -> None:
    key_file = tmp_path / "keys.json"
    cipher = cipher_from_file(key_file, create=True)
    await database.run(load_units)
    background = 600
    await asyncio.to_thread(_run_filers, database.url, key_file, tmp_path, background)
    month = generate(background=background)
    count = await database.run(lambda c: c.execute(sa.select(sa.func.count()).select_from(tip_cases)).scalar())
    assert count == len(month.specs)
    found = await database.run(raised)
    assert sorted(found) == sorted(keyed(cipher, expected_alerts(month.specs)))
    assert len(found) == 2


async def test_supervisor_actions_are_audited_and_officers_only_look(database: Database) -> None:
    month = generate(background=0)
    await database.run(load_units)
    await database.run(file_specs, specs=month.specs, cipher=TEST_CIPHER)
    first = (await database.run(views.list_alerts, viewer=SUPERVISOR, cipher=TEST_CIPHER))[-1]
    assert first.kind == "phone"
    officer = Viewer.officer(8, "officer", "CA-TL")  # one tip of campaign A was routed to Tân Lộc
    seen = await database.run(views.alert_detail, viewer=officer, alert_id=first.id, cipher=TEST_CIPHER)
    assert seen.tips and {t.unit_id for t in seen.tips} == {"CA-TL"} and seen.hidden_tips > 0
    now = datetime.now(UTC)
    with pytest.raises(WorkflowError):
        await database.run(views.acknowledge, viewer=officer, alert_id=first.id, cipher=TEST_CIPHER, now=now)
    outsider = Viewer.officer(9, "officer", "CA-HT")
    with pytest.raises(WorkflowError):
        await database.run(views.alert_detail, viewer=outsider, alert_id=99, cipher=TEST_CIPHER)
    assert await database.run(views.acknowledge, viewer=SUPERVISOR, alert_id=first.id, cipher=TEST_CIPHER, now=now)
    assert not await database.run(views.acknowledge, viewer=SUPERVISOR, alert_id=first.id, cipher=TEST_CIPHER,
                                  now=now)
    added = await database.run(views.block_from_alert, viewer=SUPERVISOR, alert_id=first.id,
                               picks=[("phone", CAMPAIGN_NUMBER), ("phone", "+84900000000")], cipher=TEST_CIPHER,
                               now=now)
    assert added == 1  # the number not named by the campaign is ignored
    listed = await database.run(lambda c: c.execute(sa.select(blocklist.c.value)).scalars().all())
    assert listed == [CAMPAIGN_NUMBER]
    detail = await database.run(views.alert_detail, viewer=SUPERVISOR, alert_id=first.id, cipher=TEST_CIPHER)
    assert [i.blocked for i in detail.indicators if i.value == CAMPAIGN_NUMBER] == [True]
    draft_id = await database.run(views.draft_awareness, viewer=SUPERVISOR, alert_id=first.id, cipher=TEST_CIPHER,
                                  now=now, police_name="Công an tỉnh Cà Mau")
    draft = await database.run(views.get_draft, viewer=SUPERVISOR, draft_id=draft_id)
    assert draft["body"].startswith("Hiện nay, xuất hiện thủ đoạn lừa đảo trực tuyến giả mạo nhà trường")
    assert CAMPAIGN_NUMBER in draft["body"] and {c["code"] for c in draft["audience"]["communes"]} >= {"32014"}
    await database.run(views.edit_draft, viewer=SUPERVISOR, draft_id=draft_id, title="Cảnh báo", body="Nội dung",
                       status="discarded", now=now)
    assert (await database.run(views.drafts, viewer=SUPERVISOR))[0]["status"] == "discarded"
    with pytest.raises(WorkflowError):
        await database.run(views.drafts, viewer=officer)
    actions = await database.run(lambda c: c.execute(sa.select(audit_log.c.action).where(
        audit_log.c.subject.like("alert:%") | audit_log.c.subject.like("draft:%"))).scalars().all())
    assert sorted(actions) == ["alert.ack", "awareness.draft", "awareness.edit", "blocklist.add"]
    assert await database.run(lambda c: c.execute(sa.select(sa.func.count()).select_from(awareness_drafts)).scalar())
    assert SYSTEM.whole_province
