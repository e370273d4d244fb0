"""Flow versions in the database: saved, published, rolled back; what a process serves; errors at their line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from handlers.flowload import DEFAULT_FLOWS_DIR, FlowLoadError, FlowRegistry, load_flows
from handlers.flowspec import MenuStep
from storage import audit, content_flows
from storage.db import Database

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
MAIN = (DEFAULT_FLOWS_DIR / "main.yaml").read_text(encoding="utf-8")
NEW_PROMPT = MAIN.replace('prompt: {vi: "Bạn cần giúp gì?"', 'prompt: {vi: "Bạn cần giúp gì hôm nay?"', 1)


def menu_prompt(registry: FlowRegistry) -> str:
    step = registry.current.flows["main"].step("menu")
    assert isinstance(step, MenuStep)
    return step.prompt.vi


async def test_versions_publish_and_rollback(database: Database) -> None:
    first = await database.run(content_flows.save_version, file="main.yaml", text=NEW_PROMPT, shipped=MAIN,
                               actor="officer:1", now=NOW, note="câu hỏi mới")
    assert first.number == 2  # the shipped file is version 1
    versions = await database.run(content_flows.versions, file="main.yaml")
    assert [(v.number, v.created_by) for v in versions] == [(2, "officer:1"), (1, "shipped")]
    assert versions[1].text == MAIN
    assert await database.run(content_flows.stamp) == 0
    assert await database.run(content_flows.current_texts) == {}

    await database.run(content_flows.publish, version_id=first.id, actor="officer:1", now=NOW)
    stamp = await database.run(content_flows.stamp)
    assert stamp > 0
    assert await database.run(content_flows.current_texts) == {"main.yaml": NEW_PROMPT}
    assert [v.published for v in await database.run(content_flows.versions, file="main.yaml")] == [True, False]

    # Saving the same text again makes no new version.
    again = await database.run(content_flows.save_version, file="main.yaml", text=NEW_PROMPT, shipped=MAIN,
                               actor="officer:2", now=NOW + timedelta(minutes=1))
    assert again.id == first.id

    await database.run(content_flows.publish, version_id=versions[1].id, actor="officer:1",
                       now=NOW + timedelta(minutes=2), action="rollback")
    assert await database.run(content_flows.stamp) > stamp
    assert await database.run(content_flows.current_texts) == {"main.yaml": MAIN}
    history = await database.run(content_flows.publications, file="main.yaml")
    assert [(p["action"], p["number"]) for p in history] == [("rollback", 1), ("publish", 2)]
    actions = [e["action"] for e in await database.run(audit.entries, subject="flow:main.yaml")]
    assert actions == ["flow.rollback", "flow.publish", "flow.save"]


def test_registry_serves_published_texts_over_the_files_and_keeps_the_last_good(tmp_path: Path) -> None:
    registry = FlowRegistry(DEFAULT_FLOWS_DIR, check_every=0)
    assert menu_prompt(registry) == "Bạn cần giúp gì?"
    assert registry.publish({"main.yaml": NEW_PROMPT}) is True
    assert menu_prompt(registry) == "Bạn cần giúp gì hôm nay?"
    broken = NEW_PROMPT.replace("next: flow:report", "next: flow:nowhere", 1)
    assert registry.publish({"main.yaml": broken}) is False  # refused: the good set keeps serving
    assert menu_prompt(registry) == "Bạn cần giúp gì hôm nay?"
    assert any("unknown flow 'nowhere'" in e.problem for e in registry.last_errors)
    assert registry.publish({}) is True  # nothing published any more: the shipped files again
    assert menu_prompt(registry) == "Bạn cần giúp gì?"


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), start=1) if needle in line)


@pytest.mark.parametrize(("edit", "needle", "problem"), [
    (lambda t: t.replace("next: flow:check_call", "next: flow:kiem_tra", 1), "flow:kiem_tra", "unknown flow"),
    (lambda t: t.replace('en: "Main menu"', 'xx: "Main menu"', 1), "xx:", "unknown field"),
    (lambda t: t.replace("next: menu\n", "next: menuu\n", 1), "next: menuu", "unknown step 'menuu'"),
])
def test_errors_name_their_line(edit: object, needle: str, problem: str) -> None:
    text = edit(MAIN)  # type: ignore[operator]
    with pytest.raises(FlowLoadError) as info:
        load_flows(DEFAULT_FLOWS_DIR, overrides={"main.yaml": text})
    mine = [e for e in info.value.errors if e.file == "main.yaml" and problem in e.problem]
    assert mine, info.value.errors
    assert mine[0].line == line_of(text, needle)
    assert str(mine[0]).startswith("main.yaml: flow ")  # the CLI's wording is unchanged


def test_yaml_syntax_error_has_its_line() -> None:
    text = MAIN.replace("    start: welcome\n", "    start: [welcome\n", 1)
    with pytest.raises(FlowLoadError) as info:
        load_flows(DEFAULT_FLOWS_DIR, overrides={"main.yaml": text})
    (error,) = [e for e in info.value.errors if e.file == "main.yaml"]
    assert "not valid YAML" in error.problem and error.line is not None
    assert abs(error.line - line_of(text, "start: [welcome")) <= 2
