"""Score the dialogue on a labelled set of turns: what parents type at a step, and what must happen.

The set lives in ``tests/data/turns_*.yml`` (``turns_setup.yml`` holds the clock, a school directory and the
blocklist). Each turn is said at one step of one flow with some slots already given; :func:`run_turn` runs it
through :class:`handlers.dialogue.Dialogue` exactly as the engine would — redacted first, on a real database
connection for the directory and blocklist look-ups — and compares the outcome with the turn's expectations.
``tests/handlers/test_turnset.py`` fails when accuracy drops; ``bench/bench_dialogue.py`` prints it per class.
"""

from __future__ import annotations

import copy
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from handlers import yamlio
from handlers.checks.csv_import import parse_blocklist_csv, parse_schools_csv
from handlers.checks.dialogue import DirectoryChecker
from handlers.dialogue import Dialogue
from handlers.flowload import FlowRegistry
from handlers.messages import InboundMessage, OutboundMessage
from handlers.texts import TEXTS
from handlers.turn import Turn
from handlers.understanding import Understand
from nlu.normalize import TEENCODE, fold
from nlu.redact import redact
from storage.crypto import Cipher, new_key
from storage.reference import add_to_blocklist, upsert_schools

# The urgent path must never fire on these classes, and never miss on those.
DENIAL, ADMISSION = "denial", "admission"
_EXPECT_KEYS = frozenset({"slots", "absent", "step", "flow", "urgent", "urgent_first", "says", "shows", "button"})
_WORD = re.compile(r"[a-z0-9]+")
_VARIABLES = {"police_name": "Công an tỉnh", "province_name": "Tỉnh Thử", "province_hotline": "0290 000 113",
              "province_email": "tip@example.vn"}


class TurnSetError(ValueError):
    """The turn files are malformed; the message names the file and the group."""


@dataclass(frozen=True)
class LabelledTurn:
    """One thing a parent says at one step, and what must happen."""

    text: str
    flow: str | None  # None: the parent's very first message
    step: str | None
    klass: str
    given: Mapping[str, Any]
    pending: tuple[str, ...]
    expect: Mapping[str, Any]
    where: str  # file and group, for failure messages
    lang: str = "vi"

    @property
    def no_diacritics(self) -> bool:
        """Vietnamese typed without any diacritic (the way many parents type on a phone)."""
        return self.lang == "vi" and self.text.isascii() and any(c.isalpha() for c in self.text)

    @property
    def teencode(self) -> bool:
        """Uses at least one abbreviation of :data:`nlu.normalize.TEENCODE` ("ko", "ck", "stk", "r"…)."""
        return self.lang == "vi" and any(w in TEENCODE for w in _WORD.findall(fold(self.text)))


@dataclass(frozen=True)
class TurnSet:
    now: datetime
    schools_csv: bytes
    blocklist_csv: bytes
    turns: tuple[LabelledTurn, ...]


def default_files(root: Path) -> list[Path]:
    """The turn files of the repository at ``root``."""
    return sorted((root / "tests" / "data").glob("turns_*.yml"))


def _merge(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if key == "slots" and isinstance(out.get("slots"), Mapping):
            out["slots"] = {**out["slots"], **value}
        else:
            out[key] = value
    return out


def load_turnset(paths: Iterable[Path]) -> TurnSet:
    """Read and check the turn files (``now``, ``directory`` and ``blocklist`` may sit in any one of them)."""
    now: datetime | None = None
    schools = blocklist = b""
    turns: list[LabelledTurn] = []
    for path in paths:
        data = yamlio.safe_load(path.read_text(encoding="utf-8")) or {}
        if "now" in data:
            now = datetime.fromisoformat(str(data["now"]))
        schools += str(data.get("directory", "")).encode() if not schools else b""
        blocklist += str(data.get("blocklist", "")).encode() if not blocklist else b""
        for g, group in enumerate(data.get("groups") or []):
            where = f"{path.name} group {g + 1} ({group.get('at')}, {group.get('class')})"
            at, klass = str(group.get("at", "")), group.get("class")
            if not klass or not (at == "first" or re.fullmatch(r"[a-z_]+\.[a-z_]+", at)):
                raise TurnSetError(f"{where}: needs `at: flow.step` (or `first`) and `class:`")
            flow, step = (None, None) if at == "first" else at.split(".")
            for item in group.get("turns") or []:
                spec = item if isinstance(item, Mapping) else {"say": item}
                expect = _merge(group.get("expect") or {}, spec.get("expect") or {})
                if not expect or set(expect) - _EXPECT_KEYS:
                    raise TurnSetError(f"{where}: turn {spec.get('say')!r}: expect one of {sorted(_EXPECT_KEYS)}")
                turns.append(LabelledTurn(
                    text=str(spec["say"]), flow=flow, step=step, klass=str(klass),
                    given={**(group.get("given") or {}), **(spec.get("given") or {})},
                    pending=tuple(spec.get("pending", group.get("pending", ()))), expect=expect, where=where,
                    lang=str(spec.get("lang", group.get("lang", "vi")))))
    if now is None or not schools:
        raise TurnSetError("no turns_setup.yml with `now:` and `directory:` among the turn files")
    return TurnSet(now, schools, blocklist, tuple(turns))


def seed(conn: sa.Connection, turnset: TurnSet) -> None:
    """Load the set's school directory and blocklist into the (empty, migrated) database."""
    schools = parse_schools_csv(turnset.schools_csv)
    entries = parse_blocklist_csv(turnset.blocklist_csv)
    problems = [*schools.skipped, *entries.skipped]
    if problems:
        raise TurnSetError(f"turns_setup.yml: {problems[0]}")
    upsert_schools(conn, records=schools.rows, now=turnset.now)
    add_to_blocklist(conn, entries=entries.rows, now=turnset.now)


def evaluation_dialogue(understand: Understand, flows: FlowRegistry | None = None) -> Dialogue:
    """A dialogue as the engine builds it, minus the parts a turn set never reaches (filing, erasing)."""
    registry = flows or FlowRegistry(check_every=0)

    def refuse(_turn: Turn) -> Any:
        raise RuntimeError("a labelled turn must not file a tip or erase a chat")

    # A labelled turn files no tip, so there is no report to count: throwaway keys serve the check's lookups.
    keys = Cipher.from_config({"eval": new_key()}, "eval", new_key())
    return Dialogue(registry.get, checker=DirectoryChecker(keys), submit=refuse, erase=refuse, variables=_VARIABLES,
                    understand=understand)


@dataclass
class Outcome:
    """How one turn went."""

    turn: LabelledTurn
    failures: list[str] = field(default_factory=list)
    urgent: bool = False
    replies: tuple[OutboundMessage, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.failures


def _state_for(turn: LabelledTurn) -> dict[str, Any]:
    if turn.flow is None:
        return {}
    return {"flow": turn.flow, "step": turn.step, "slots": copy.deepcopy(dict(turn.given)), "history": [],
            "pending": list(turn.pending)}


def _value_ok(expected: Any, actual: Any) -> bool:
    if isinstance(expected, Mapping) and any(str(k).startswith("$") for k in expected):
        text = actual if isinstance(actual, str) else ""
        return (str(expected.get("$has", "")) in text) and not (
            "$lacks" in expected and str(expected["$lacks"]) in text)
    return bool(expected == actual)


def _said(key: str, replies: Sequence[OutboundMessage]) -> bool:
    template = TEXTS[key]["vi"]
    probe = template.split("{", 1)[0][:40] or template[:40]
    return any(probe in m.text for m in replies)


def check_outcome(turn: LabelledTurn, state: Mapping[str, Any], replies: Sequence[OutboundMessage]) -> list[str]:
    """What went differently from the turn's expectations (empty: the turn was handled right)."""
    expect, slots = turn.expect, state.get("slots") or {}
    failures: list[str] = []
    for name, value in (expect.get("slots") or {}).items():
        actual = slots.get(name)
        if not _value_ok(value, actual):
            failures.append(f"slot {name}: expected {value!r}, got {actual!r}")
    for name in expect.get("absent") or ():
        if name in slots:
            failures.append(f"slot {name}: expected unanswered, got {slots[name]!r}")
    if "step" in expect and state.get("step") != expect["step"]:
        failures.append(f"step: expected {expect['step']!r}, got {state.get('step')!r}")
    if "flow" in expect:
        wanted = expect["flow"] if isinstance(expect["flow"], list) else [expect["flow"]]
        if state.get("flow") not in wanted:
            failures.append(f"flow: expected {expect['flow']!r}, got {state.get('flow')!r}")
    urgent = any(m.urgent for m in replies)
    if "urgent" in expect and urgent != bool(expect["urgent"]):
        failures.append(f"urgent: expected {expect['urgent']}, got {urgent}")
    # The advice first; after it only its own offer (buttons), nothing that pushes it off the screen.
    buried = not replies or not replies[0].urgent or any(not m.urgent and not m.buttons for m in replies[1:])
    if expect.get("urgent_first") and buried:
        failures.append("urgent advice is not first, or something plain follows it")
    if "says" in expect and not _said(str(expect["says"]), replies):
        failures.append(f"says: expected the {expect['says']!r} text")
    if "shows" in expect and not any(str(expect["shows"]) in m.text for m in replies):
        failures.append(f"shows: expected a reply containing {expect['shows']!r}")
    if "button" in expect and not any(str(expect["button"]) in b.label for m in replies for b in m.buttons):
        failures.append(f"button: expected one labelled {expect['button']!r}")
    return failures


def run_turn(conn: sa.Connection, dialogue: Dialogue, turn: LabelledTurn, now: datetime) -> Outcome:
    """Say one turn at its step, as the engine would, inside a savepoint that is rolled back afterwards."""
    text = redact(turn.text)[0]
    state = _state_for(turn)
    msg = InboundMessage(channel="eval", chat_id="eval", user_id="eval", text=text, received_at=now)
    live = Turn(conn=conn, state=state, locale="vi", inbound=msg, text=text, now=now, durable=True)
    savepoint = conn.begin_nested()
    try:
        dialogue.respond(live)
    except Exception as exc:  # a crash is a failed turn, reported with the others
        return Outcome(turn, [f"crashed: {type(exc).__name__}: {exc}"])
    finally:
        savepoint.rollback()
    return Outcome(turn, check_outcome(turn, live.state, live.out), any(m.urgent for m in live.out),
                   tuple(live.out))


def run_all(conn: sa.Connection, dialogue: Dialogue, turnset: TurnSet,
            progress: Callable[[Outcome], None] | None = None) -> list[Outcome]:
    """Every turn of the set (the caller has seeded ``conn`` with :func:`seed`)."""
    outcomes = []
    for turn in turnset.turns:
        outcome = run_turn(conn, dialogue, turn, turnset.now)
        outcomes.append(outcome)
        if progress:
            progress(outcome)
    return outcomes


@dataclass(frozen=True)
class Report:
    """Accuracy overall, per class and per way of typing; the urgent path's two error counts."""

    total: int
    accuracy: float
    per_class: dict[str, tuple[int, float]]  # class → (turns, accuracy)
    per_form: dict[str, tuple[int, float]]  # "diacritics" / "no diacritics" / "teencode" / "english"
    false_alarms: list[str]  # plain denials that showed the urgent advice
    misses: list[str]  # plain admissions that did not

    def lines(self) -> list[str]:
        out = [f"turns: {self.total}   accuracy: {self.accuracy:.4f}"]
        out += [f"  {name:16s} {n:4d} turns  {acc:.4f}" for name, (n, acc) in sorted(self.per_class.items())]
        out += [f"  [{name}] {n} turns  {acc:.4f}" for name, (n, acc) in self.per_form.items()]
        out.append(f"urgent path: {len(self.false_alarms)} false alarms on plain denials, "
                   f"{len(self.misses)} misses on plain admissions")
        return out


def _accuracy(items: Sequence[Outcome]) -> tuple[int, float]:
    return len(items), (sum(o.ok for o in items) / len(items) if items else 1.0)


def report(outcomes: Sequence[Outcome]) -> Report:
    """Summarise ``outcomes`` (see :class:`Report`)."""
    by_class: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        by_class[o.turn.klass].append(o)
    forms = {
        "diacritics": [o for o in outcomes if o.turn.lang == "vi" and not o.turn.no_diacritics],
        "no diacritics": [o for o in outcomes if o.turn.no_diacritics],
        "teencode": [o for o in outcomes if o.turn.teencode],
        "english": [o for o in outcomes if o.turn.lang == "en"],
    }
    return Report(
        total=len(outcomes),
        accuracy=_accuracy(outcomes)[1],
        per_class={k: _accuracy(v) for k, v in by_class.items()},
        per_form={k: _accuracy(v) for k, v in forms.items()},
        false_alarms=[o.turn.text for o in by_class.get(DENIAL, []) if o.urgent],
        misses=[o.turn.text for o in by_class.get(ADMISSION, []) if not o.urgent],
    )


def class_counts(turnset: TurnSet) -> Counter[str]:
    return Counter(t.klass for t in turnset.turns)
