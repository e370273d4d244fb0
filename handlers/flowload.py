"""Load and validate flow files; keep serving the last good set when an edit breaks one.

Every error names the file, the flow and the step, says what is wrong and how to fix it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from handlers import yamlio
from handlers.flowlines import locate
from handlers.flowspec import (
    AnyStep,
    AskStep,
    BranchStep,
    CheckStep,
    ChoiceStep,
    Flow,
    FlowFile,
    MenuStep,
    MessageStep,
    Option,
    SubmitStep,
)
from handlers.intents import INTENTS

log = logging.getLogger(__name__)

DEFAULT_FLOWS_DIR = Path(__file__).parent / "flows"
SPECIAL_TARGETS = ("end", "menu")
# Slots the engine itself sets; flows may branch on them without declaring them.
ENGINE_SLOTS = frozenset({"urgent", "school_code"})


@dataclass(frozen=True, slots=True)
class FlowError:
    file: str
    flow: str
    step: str
    problem: str
    fix: str
    line: int | None = None  # 1-based line in the file, for the console's editor (not part of str())
    path: tuple[str | int, ...] = ()  # pydantic's location of a structural error

    def __str__(self) -> str:
        return f"{self.file}: flow {self.flow!r}, step {self.step!r}: {self.problem} — fix: {self.fix}"


class FlowLoadError(Exception):
    def __init__(self, errors: list[FlowError]) -> None:
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = errors


@dataclass(frozen=True)
class FlowSet:
    """A validated set of flows and option sets: immutable, safe to share between requests."""

    flows: dict[str, Flow]
    option_sets: dict[str, tuple[Option, ...]]
    sources: dict[str, float] = field(default_factory=dict)  # file → mtime when loaded

    def flow_for_intent(self, intent: str) -> Flow | None:
        for f in self.flows.values():
            if intent in f.intents:
                return f
        return None


def _pydantic_errors(file: str, raw: Any, exc: ValidationError) -> list[FlowError]:
    errors = []
    for err in exc.errors():
        loc = list(err["loc"])
        flow_id, step_id = "-", "-"
        if len(loc) >= 2 and loc[0] == "flows" and isinstance(loc[1], int):
            try:
                flow_raw = raw["flows"][loc[1]]
                flow_id = str(flow_raw.get("id", f"#{loc[1]}"))
                if len(loc) >= 4 and loc[2] == "steps" and isinstance(loc[3], int):
                    step_id = str(flow_raw["steps"][loc[3]].get("id", f"#{loc[3]}"))
            except (KeyError, IndexError, TypeError, AttributeError):
                pass
        where = ".".join(str(p) for p in loc)
        if err["type"] == "missing" and loc and loc[-1] in ("vi", "en"):
            problem, fix = f"missing translation at {where}", f"add a `{loc[-1]}:` text next to the other language"
        elif err["type"] == "missing":
            problem, fix = f"missing field {where}", f"add `{loc[-1]}:` to this step"
        elif err["type"] == "extra_forbidden":
            problem, fix = f"unknown field {where}", "remove it or check its spelling"
        elif err["type"] == "union_tag_invalid":
            problem = f"unknown step kind at {where}"
            fix = "use one of menu, ask, choice, message, branch, check, submit"
        else:
            problem, fix = f"{where}: {err['msg']}", "correct the value"
        errors.append(FlowError(file, flow_id, step_id, problem, fix, path=tuple(loc)))
    return errors


def _targets(step: AnyStep) -> list[str]:
    out: list[str] = []
    if isinstance(step, MenuStep):
        out += [o.next for o in step.options if o.next]
    elif isinstance(step, MessageStep):
        out += [step.next] + [o.next for o in step.options if o.next]
    elif isinstance(step, BranchStep):
        out += [c.next for c in step.cases] + [step.default]
    elif isinstance(step, AskStep | ChoiceStep | CheckStep | SubmitStep):
        out.append(step.next)
    return out


def _raw_flow_ids(raw: Any) -> set[str]:
    try:
        return {str(f["id"]) for f in raw["flows"] if isinstance(f, dict) and "id" in f}
    except (KeyError, TypeError):
        return set()


def _check_flow(file: str, flow: Flow, flows: dict[str, Flow], option_sets: dict[str, Any],
                broken: set[str]) -> list[FlowError]:
    errors: list[FlowError] = []

    def err(step: str, problem: str, fix: str) -> None:
        errors.append(FlowError(file, flow.id, step, problem, fix))

    ids: set[str] = set()
    for step in flow.steps:
        if step.id in ids:
            err(step.id, "duplicate step id", "give each step in a flow its own id")
        ids.add(step.id)
    if flow.start not in ids:
        err("-", f"start step {flow.start!r} does not exist", "point `start:` at one of the flow's steps")
    for intent in flow.intents:
        if intent not in INTENTS:
            err("-", f"unknown intent {intent!r}", f"use one of: {', '.join(sorted(INTENTS))}")

    known_slots = set(flow.slots) | ENGINE_SLOTS
    for step in flow.steps:
        for target in _targets(step):
            if target in SPECIAL_TARGETS or target in ids:
                continue
            if target.startswith("flow:"):
                if target[5:] not in flows and target[5:] not in broken:
                    err(step.id, f"next goes to unknown flow {target[5:]!r}", "name an existing flow after `flow:`")
                continue
            err(step.id, f"next goes to unknown step {target!r}",
                "name a step of this flow, `flow:<id>`, `menu` or `end`")
        slot_names: list[str] = list(step.set)
        if isinstance(step, AskStep | ChoiceStep | CheckStep):
            slot_names.append(step.slot)
        if isinstance(step, AskStep | ChoiceStep):
            slot_names += list(step.also)
        if isinstance(step, BranchStep):
            slot_names += [c.when.slot for c in step.cases]
        if isinstance(step, SubmitStep):
            slot_names += [f.slot for f in step.fields]
            for f in step.fields:
                if f.step not in ids:
                    err(step.id, f"field {f.slot!r} edits unknown step {f.step!r}", "name the step that asks it")
        for slot in slot_names:
            if slot not in known_slots:
                err(step.id, f"unknown slot {slot!r}", f"declare it under `slots:` of flow {flow.id!r}")
        if isinstance(step, AskStep) and flow.slots.get(step.slot) not in (None, step.type):
            err(step.id, f"slot {step.slot!r} is {flow.slots[step.slot]} but the step asks {step.type}",
                "make the step's `type:` match the slot's declared type")
        if isinstance(step, ChoiceStep):
            expected = "multi_choice" if step.multiple else "choice"
            if flow.slots.get(step.slot) not in (None, expected):
                err(step.id, f"slot {step.slot!r} is {flow.slots[step.slot]}, the step fills a {expected}",
                    f"declare the slot as {expected} or change `multiple:`")
            if step.options not in option_sets:
                err(step.id, f"unknown option set {step.options!r}", "define it under `option_sets:`")

    # Reachability: walk from the start; edits from a summary count as edges too.
    if flow.start in ids:
        seen, todo = set(), [flow.start]
        while todo:
            sid = todo.pop()
            if sid in seen or sid not in ids:
                continue
            seen.add(sid)
            step = flow.step(sid)
            todo += _targets(step)
            if isinstance(step, SubmitStep):
                todo += [f.step for f in step.fields]
        for sid in sorted(ids - seen):
            err(sid, "unreachable step", f"send some step's `next:` to {sid!r}, or delete it")
    return errors


def load_flows(directory: Path = DEFAULT_FLOWS_DIR, *, overrides: Mapping[str, str] | None = None) -> FlowSet:
    """Parse and validate every ``*.yaml`` in ``directory``. Raises :class:`FlowLoadError` listing all errors.

    ``overrides`` (file name → YAML text) replace or add to the directory's files: the versions admins
    published in the console (:mod:`storage.content_flows`). Each error then carries its line."""
    files = sorted(directory.glob("*.yaml"))
    if not files and not overrides:
        raise FlowLoadError([FlowError(str(directory), "-", "-", "no flow files", "add *.yaml flow files")])
    texts: dict[str, str | bytes] = {path.name: path.read_bytes() for path in files}
    texts.update(overrides or {})
    sources = {str(path): path.stat().st_mtime for path in files}
    errors: list[FlowError] = []
    parsed: list[tuple[str, FlowFile]] = []
    broken: set[str] = set()  # flows in files that failed to parse: not reported again as unknown targets
    for name, content in sorted(texts.items()):
        try:
            text = content.decode("utf-8") if isinstance(content, bytes) else content
            raw = yamlio.safe_load(text) or {}
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            mark = getattr(exc, "problem_mark", None)
            errors.append(FlowError(name, "-", "-", f"not valid YAML: {str(exc).splitlines()[0]}",
                                    "fix the YAML syntax (indentation, quotes)",
                                    line=mark.line + 1 if mark is not None else None))
            continue
        try:
            parsed.append((name, FlowFile.model_validate(raw)))
        except ValidationError as exc:
            errors += _pydantic_errors(name, raw, exc)
            broken.update(_raw_flow_ids(raw))
    flows: dict[str, Flow] = {}
    flow_files: dict[str, str] = {}
    option_sets: dict[str, tuple[Option, ...]] = {}
    for name, ff in parsed:
        for flow in ff.flows:
            if flow.id in flows:
                errors.append(FlowError(name, flow.id, "-", f"flow id also defined in {flow_files[flow.id]}",
                                        "rename one of the flows"))
            flows[flow.id] = flow
            flow_files[flow.id] = name
        for set_name, options in ff.option_sets.items():
            if set_name in option_sets:
                errors.append(FlowError(name, "-", "-", f"option set {set_name!r} defined twice",
                                        "keep one definition"))
            option_sets[set_name] = options
    for flow_id, flow in flows.items():
        errors += _check_flow(flow_files[flow_id], flow, flows, option_sets, broken)
    if "main" not in flows and not errors:
        errors.append(FlowError("-", "main", "-", "no `main` flow", "define the main menu as flow id `main`"))
    urgent = flows.get("urgent")
    if not errors and (urgent is None or not any(s.id == "advice" and s.kind == "message" for s in urgent.steps)):
        # The engine shows it wherever a parent says money is gone or an OTP was given.
        errors.append(FlowError("-", "urgent", "advice", "no urgent advice message",
                                "define flow `urgent` with a message step `advice`"))
    if errors:
        raise FlowLoadError([_with_line(e, texts) for e in errors])
    return FlowSet(flows=flows, option_sets=option_sets, sources=sources)


def _with_line(error: FlowError, texts: Mapping[str, str | bytes]) -> FlowError:
    content = texts.get(error.file)
    if error.line is not None or content is None:
        return error
    text = content.decode("utf-8", "replace") if isinstance(content, bytes) else content
    return replace(error, line=locate(text, path=error.path, flow=error.flow, step=error.step, problem=error.problem))


class FlowRegistry:
    """Holds the current good :class:`FlowSet` and reloads it when a file changes.

    A reload that fails validation is logged and ignored: the last good version keeps serving. Versions
    published in the database are served over the files through :meth:`publish` (each process polls for
    them, see :mod:`bot.content_service`).
    """

    def __init__(self, directory: Path = DEFAULT_FLOWS_DIR, *, check_every: float = 2.0) -> None:
        self.directory = directory
        self.check_every = check_every
        self.current = load_flows(directory)  # a broken set at start-up is fatal: nothing good to serve
        self._last_check = time.monotonic()
        self._rejected: dict[str, float] = {}
        self.last_errors: list[FlowError] = []
        self.overrides: dict[str, str] = {}  # file name → published text served instead of the file

    def publish(self, overrides: Mapping[str, str]) -> bool:
        """Serve ``overrides`` (file name → text) over the directory's files from now on. False, with the last
        good set still serving and ``last_errors`` saying why, when the result does not validate."""
        if dict(overrides) == self.overrides:
            return False
        try:
            current = load_flows(self.directory, overrides=overrides)
        except FlowLoadError as exc:
            self.last_errors = exc.errors
            for e in exc.errors:
                log.error("published flows rejected, still serving the last good flows: %s", e)
            return False
        self.overrides, self.current, self.last_errors = dict(overrides), current, []
        log.info("flows published from the database: %s", ", ".join(sorted(overrides)) or "(shipped files only)")
        return True

    def _mtimes(self) -> dict[str, float]:
        return {str(p): p.stat().st_mtime for p in sorted(self.directory.glob("*.yaml"))}

    def get(self) -> FlowSet:
        now = time.monotonic()
        if now - self._last_check >= self.check_every:
            self._last_check = now
            self.reload_if_changed()
        return self.current

    def reload_if_changed(self) -> bool:
        """Reload when files changed since the last good or last rejected load. True if it swapped."""
        try:
            mtimes = self._mtimes()
        except OSError:
            return False
        if mtimes in (self.current.sources, self._rejected):
            return False
        try:
            self.current = load_flows(self.directory, overrides=self.overrides)
        except FlowLoadError as exc:
            self._rejected = mtimes
            self.last_errors = exc.errors
            for e in exc.errors:
                log.error("flow reload rejected, still serving the last good flows: %s", e)
            return False
        self.last_errors = []
        log.info("flows reloaded from %s", self.directory)
        return True
