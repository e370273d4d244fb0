"""From free text to the dialogue: which flow a parent means, and what their story already tells us.

The intent classifier (nlu/) names the intent; this module decides what the dialogue does with it and turns
the entities of a whole-story message into pre-filled slots, so the bot asks only for what is missing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

import sqlalchemy as sa

from handlers.checks.signals import asked_in_text
from handlers.flowload import FlowSet
from handlers.flowspec import Flow, MenuStep, SubmitStep
from handlers.render import display_value, slot_option_sets
from handlers.schoolslot import read_school
from handlers.texts import say
from nlu.entities import extract_entities


class Parsed(Protocol):
    """What the dialogue reads from a parse (nlu.types.Parse satisfies it)."""

    @property
    def intent(self) -> str: ...
    @property
    def confidence(self) -> float: ...
    @property
    def ranking(self) -> tuple[tuple[str, float], ...]: ...
    @property
    def entities(self) -> tuple[Any, ...]: ...


Understand = Callable[[str], Parsed]

# Intents answered in place rather than by a flow.
SMALL_TALK = {"thanks": "you_are_welcome", "goodbye": "goodbye", "out_of_scope": "out_of_scope"}
HARM = ("money_lost", "shared_credentials")


def menu_option_for(flows: FlowSet, intent: str) -> str | None:
    """The main-menu button that leads where ``intent`` leads (for clarifying questions)."""
    flow = flows.flow_for_intent(intent)
    menu = flows.flows["main"].step("menu")
    if flow is None or not isinstance(menu, MenuStep):
        return None
    return next((o.id for o in menu.options if o.next == f"flow:{flow.id}"), None)


def _first(entities: tuple[Any, ...], kind: str) -> Any:
    return next((e for e in entities if e.entity == kind), None)


def _school_value(conn: sa.Connection | None, name: str) -> Any:
    """A school named in passing: the directory's entry when it is unambiguous, else the name as written."""
    if conn is None:
        return name
    answer = read_school(conn, name)
    return answer.value  # None when two schools share the name: the school question will ask which


def prefill(parse: Parsed, text: str, flow: Flow, flows: FlowSet, conn: sa.Connection | None = None
            ) -> dict[str, Any]:
    """Slots of ``flow`` that the message already answers (only slots the flow declares)."""
    found: dict[str, Any] = {}
    ents = parse.entities
    phone = _first(ents, "phone_number")
    if phone is not None:
        found["caller_number"] = phone.value
    role = _first(ents, "claimed_role")
    if role is not None:
        found["claimed_role"] = role.value
    school = _first(ents, "school_name")
    if school is not None:
        value = _school_value(conn, school.text)
        if value is not None:
            found["school"] = value
    urls = [e.value for e in ents if e.entity == "url"]
    if urls:
        found["link"] = urls[0]
        if len(urls) > 1:
            found["other_links"] = urls[1:]
    amount = _first(ents, "money_amount")
    if amount is not None and parse.intent == "money_lost":
        found["amount"] = amount.value
    asked_ids = {o.id for o in flows.option_sets.get("asked", ())}
    asked = [a for a in sorted(asked_in_text(text)) if a in asked_ids]
    if asked:
        found["asked"] = asked
    return {k: v for k, v in found.items() if k in flow.slots}


def understood_text(slots: Mapping[str, Any], flow: Flow, flows: FlowSet, locale: str) -> str | None:
    """ "This is what I understood" — shown before asking for the rest."""
    if not slots:
        return None
    sets = slot_option_sets(flows, flow.id)
    labels = {"caller_number": ("Số gọi", "Caller's number"), "claimed_role": ("Xưng là", "Claimed to be"),
              "school": ("Trường", "School"), "link": ("Đường link", "Link"), "asked": ("Họ yêu cầu", "They asked"),
              "amount": ("Số tiền", "Amount")}
    lines = [say("understood", locale)]
    for slot, (vi, en) in labels.items():
        if slot in slots:
            shown = display_value(flows.option_sets.get(sets.get(slot, ""), ()), slots[slot], locale)
            lines.append(f"• {en if locale == 'en' else vi}: {shown}")
    lines.append(say("understood_fix", locale))
    return "\n".join(lines)


def answer_also(text: str, also: tuple[str, ...], flow: Flow, flows: FlowSet, slots: Mapping[str, Any], *,
                conn: sa.Connection, now: datetime) -> dict[str, Any]:
    """Later slots one answer also fills: "0377… gọi lúc 9h sáng nay" at the number question gives the time too.

    Only the slots the step names (``also:`` in the flow) and only those not answered yet.
    """
    wanted = [s for s in also if s not in slots]
    if not wanted:
        return {}
    ents = extract_entities(text, now)
    sets = slot_option_sets(flows, flow.id)
    found: dict[str, Any] = {}
    for slot in wanted:
        kind = flow.slots.get(slot)
        value: Any = None
        if kind == "phone":
            value = next((e.value for e in ents if e.entity == "phone_number"), None)
        elif kind == "datetime":
            value = next((e.value for e in ents if e.entity == "date_time"), None)
        elif kind == "money":
            value = next((e.value for e in ents if e.entity == "money_amount"), None)
        elif kind == "school":
            school = next((e for e in ents if e.entity == "school_name"), None)
            value = _school_value(conn, school.text) if school is not None else None
        elif kind in ("choice", "multi_choice"):
            ids = [o.id for o in flows.option_sets.get(sets.get(slot, ""), ())]
            if kind == "choice":
                value = next((e.value for e in ents if e.entity == "claimed_role" and e.value in ids), None)
            else:
                asked = asked_in_text(text)
                value = [i for i in ids if i in asked] or None
        if value is not None:
            found[slot] = value
    return found


def _label(flow: Flow, slot: str, locale: str) -> str:
    for step in flow.steps:
        if isinstance(step, SubmitStep):
            for f in step.fields:
                if f.slot == slot:
                    return f.label.get(locale)
    return slot


def also_text(found: Mapping[str, Any], flow: Flow, flows: FlowSet, locale: str) -> str | None:
    """ "I also noted: …" for what :func:`answer_also` filled."""
    if not found:
        return None
    sets = slot_option_sets(flows, flow.id)
    lines = [say("understood_also", locale)]
    for slot, value in found.items():
        shown = display_value(flows.option_sets.get(sets.get(slot, ""), ()), value, locale)
        lines.append(f"• {_label(flow, slot, locale)}: {shown}")
    return "\n".join(lines)
