"""Flow files are validated at load; every error names file, flow, step and a fix."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from handlers.flowload import DEFAULT_FLOWS_DIR, FlowLoadError, FlowRegistry, load_flows

MINIMAL_MAIN = """
flows:
  - id: main
    title: {vi: "Menu", en: "Menu"}
    start: menu
    steps:
      - id: menu
        kind: menu
        prompt: {vi: "Chọn", en: "Choose"}
        options:
          - {id: a, label: {vi: "A", en: "A"}, next: flow:extra}
"""


def write(tmp: Path, name: str, body: str) -> None:
    (tmp / name).write_text(body, encoding="utf-8")


def errors_for(tmp: Path, extra: str) -> list[str]:
    write(tmp, "main.yaml", MINIMAL_MAIN)
    write(tmp, "extra.yaml", extra)
    with pytest.raises(FlowLoadError) as info:
        load_flows(tmp)
    return [str(e) for e in info.value.errors]


def flow(steps: str, *, slots: str = "{}", intents: str = "[]") -> str:
    return f"""
flows:
  - id: extra
    title: {{vi: "X", en: "X"}}
    start: one
    intents: {intents}
    slots: {slots}
    steps:
{steps}
"""


def test_shipped_flows_are_valid() -> None:
    loaded = load_flows(DEFAULT_FLOWS_DIR)
    assert {"main", "report", "check_call", "check_link", "urgent", "scam_signs", "contact", "privacy"} <= set(
        loaded.flows)
    kinds = {s.kind for f in loaded.flows.values() for s in f.steps}
    assert kinds == {"menu", "ask", "choice", "message", "branch", "check", "submit"}


def test_unreachable_step(tmp_path: Path) -> None:
    errs = errors_for(tmp_path, flow("""      - {id: one, kind: message, text: {vi: a, en: a}, next: end}
      - {id: lost, kind: message, text: {vi: b, en: b}, next: end}"""))
    assert errs == ["extra.yaml: flow 'extra', step 'lost': unreachable step — fix: send some step's `next:` to "
                    "'lost', or delete it"]


def test_missing_next_target(tmp_path: Path) -> None:
    errs = errors_for(tmp_path, flow("      - {id: one, kind: message, text: {vi: a, en: a}, next: nowhere}"))
    assert "step 'one': next goes to unknown step 'nowhere'" in errs[0]
    assert "fix:" in errs[0]


def test_duplicate_step_id(tmp_path: Path) -> None:
    errs = errors_for(tmp_path, flow("""      - {id: one, kind: message, text: {vi: a, en: a}, next: end}
      - {id: one, kind: message, text: {vi: b, en: b}, next: end}"""))
    assert any("duplicate step id" in e for e in errs)


def test_unknown_slot_and_intent(tmp_path: Path) -> None:
    errs = errors_for(tmp_path, flow(
        "      - {id: one, kind: ask, slot: phonee, type: phone, prompt: {vi: a, en: a}, next: end}",
        intents="[report_scams]"))
    assert any("unknown slot 'phonee'" in e and "declare it under `slots:`" in e for e in errs)
    assert any("unknown intent 'report_scams'" in e for e in errs)


def test_missing_translation(tmp_path: Path) -> None:
    errs = errors_for(tmp_path, flow("      - {id: one, kind: message, text: {vi: a}, next: end}"))
    assert ("extra.yaml: flow 'extra', step 'one': missing translation at flows.0.steps.0.message.text.en"
            " — fix: add a `en:` text next to the other language") in errs
    assert not any("unknown flow" in e for e in errs)  # no cascade from the broken file


def test_unknown_kind_and_bad_yaml(tmp_path: Path) -> None:
    errs = errors_for(tmp_path, flow("      - {id: one, kind: dance, next: end}"))
    assert any("unknown step kind" in e for e in errs)
    errs = errors_for(tmp_path, "flows: [\n  - id: x\n   bad")
    assert any("not valid YAML" in e for e in errs)


def test_cli_prints_every_error_and_fails(tmp_path: Path) -> None:
    write(tmp_path, "main.yaml", MINIMAL_MAIN)
    write(tmp_path, "extra.yaml", flow("""      - {id: one, kind: message, text: {vi: a, en: a}, next: nowhere}
      - {id: two, kind: message, text: {vi: b, en: b}, next: end}"""))
    write(tmp_path, "third.yaml", flow("      - {id: one, kind: message, text: {vi: a}, next: end}").replace(
        "id: extra", "id: third"))
    hotline = Path(sys.executable).with_name("hotline")
    result = subprocess.run([str(hotline), "flows", "validate", str(tmp_path)], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 1
    assert "third.yaml: flow 'third', step 'one': missing translation" in result.stderr
    assert "extra.yaml: flow 'extra', step 'one': next goes to unknown step 'nowhere'" in result.stderr
    assert "extra.yaml: flow 'extra', step 'two': unreachable step" in result.stderr
    ok = subprocess.run([str(hotline), "flows", "validate"], capture_output=True, text=True, check=False)
    assert ok.returncode == 0 and ok.stdout.startswith("ok: ")


def test_broken_edit_keeps_last_good_flows(tmp_path: Path) -> None:
    for f in DEFAULT_FLOWS_DIR.glob("*.yaml"):
        shutil.copy(f, tmp_path / f.name)
    registry = FlowRegistry(tmp_path, check_every=0)
    good = registry.get()
    report = tmp_path / "report.yaml"
    report.write_text(report.read_text(encoding="utf-8").replace("next: caller_number", "next: nowhere", 1),
                      encoding="utf-8")
    future = time.time() + 5
    os.utime(report, (future, future))
    assert registry.get() is good  # the broken file is rejected …
    assert any("nowhere" in str(e) for e in registry.last_errors)
    fixed = report.read_text(encoding="utf-8").replace("next: nowhere", "next: caller_number", 1)
    report.write_text(fixed.replace("Họ liên lạc với bạn bằng cách nào?", "Họ liên lạc bằng cách nào?"),
                      encoding="utf-8")
    os.utime(report, (future + 5, future + 5))
    reloaded = registry.get()  # … and the fixed one is picked up
    assert reloaded is not good
    assert reloaded.flows["report"].step("contact_channel").prompt.vi == "Họ liên lạc bằng cách nào?"  # type: ignore[union-attr]
