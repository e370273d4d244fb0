"""Turn a step into what the parent sees: prompt text and buttons, in the conversation's language."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import phonenumbers

from handlers.flowload import FlowSet
from handlers.flowspec import (
    AnyStep,
    AskStep,
    ChoiceStep,
    MenuStep,
    MessageStep,
    Option,
    SubmitStep,
)
from handlers.messages import Button, OutboundMessage
from handlers.texts import fill, say


def option_buttons(options: tuple[Option, ...], locale: str, selected: frozenset[str] = frozenset()) -> list[Button]:
    return [Button(o.id, ("✅ " if o.id in selected else "") + o.label.get(locale)) for o in options]


def way_out(state: Mapping[str, Any], locale: str) -> list[Button]:
    """Back (when there is a previous question) and the main menu: every question has a way out."""
    buttons = [Button("!back", say("btn_back", locale))] if state.get("history") else []
    return [*buttons, Button("!menu", say("btn_menu", locale))]


def prompt(step: AnyStep, state: Mapping[str, Any], flows: FlowSet, locale: str,
           variables: Mapping[str, Any]) -> OutboundMessage | None:
    """The message that asks for this step's input, or None for steps that ask nothing."""
    v = dict(variables)
    if isinstance(step, MenuStep):
        return OutboundMessage(fill(step.prompt.get(locale), v), tuple(option_buttons(step.options, locale)))
    if isinstance(step, MessageStep) and step.options:
        return OutboundMessage(fill(step.text.get(locale), v), tuple(option_buttons(step.options, locale)))
    if isinstance(step, AskStep):
        buttons: list[Button] = []
        if step.type == "attachment" and state.get("slots", {}).get(step.slot):
            buttons.append(Button("!done", say("btn_done", locale)))
        if step.skippable:
            buttons.append(Button("!skip", say("btn_skip", locale)))
        buttons += way_out(state, locale)
        return OutboundMessage(fill(step.prompt.get(locale), v), tuple(buttons),
                               request_contact=step.request_contact)
    if isinstance(step, ChoiceStep):
        options = flows.option_sets[step.options]
        selected = frozenset(state.get("pending", [])) if step.multiple else frozenset()
        buttons = option_buttons(options, locale, selected)
        if step.multiple:
            buttons.append(Button("!done", say("btn_done", locale)))
        if step.skippable:
            buttons.append(Button("!skip", say("btn_skip", locale)))
        buttons += way_out(state, locale)
        return OutboundMessage(fill(step.prompt.get(locale), v), tuple(buttons), multi_select=step.multiple)
    if isinstance(step, SubmitStep):
        lines = [fill(step.prompt.get(locale), v), "", say("summary_header", locale)]
        slots = state.get("slots", {})
        sets = slot_option_sets(flows, state.get("flow") or "")
        for f in step.fields:
            if f.slot in slots:
                shown = display_value(flows.option_sets.get(sets.get(f.slot, ""), ()), slots[f.slot], locale)
                lines.append(f"• {f.label.get(locale)}: {shown}")
        buttons = [Button("!submit", say("btn_submit", locale)), Button("!edit", say("btn_edit", locale)),
                   Button("!cancel", say("btn_cancel", locale))]
        return OutboundMessage("\n".join(lines), tuple(buttons))
    return None


def slot_option_sets(flows: FlowSet, flow_id: str) -> dict[str, str]:
    """slot → the option set its choice step uses, so ids show as that set's labels."""
    flow = flows.flows.get(flow_id)
    if flow is None:
        return {}
    return {s.slot: s.options for s in flow.steps if isinstance(s, ChoiceStep)}


def _option_label(options: tuple[Option, ...], option_id: str, locale: str) -> str:
    return next((o.label.get(locale) for o in options if o.id == option_id), option_id)


def display_value(options: tuple[Option, ...], value: Any, locale: str) -> str:
    """A slot value as a parent reads it (labels not ids, national phone format, đồng with dots).

    ``[]`` from a several-answers question is its "none of these" answer ("Chưa đưa gì"), shown as such.
    """
    none_of_these = next((o for o in options if o.exclusive), None)
    if value == [] and none_of_these is not None:
        return none_of_these.label.get(locale)
    if value is None or value == [] or value == "":
        return say("value_none", locale)
    if isinstance(value, bool):
        return "✔" if value else "✘"
    if isinstance(value, list):
        if value and isinstance(value[0], dict):
            return say("attachments_count", locale, count=len(value))
        return ", ".join(_option_label(options, str(x), locale) for x in value)
    if isinstance(value, int):
        return f"{value:,}".replace(",", ".") + " đ"
    if isinstance(value, dict):
        return str(value.get("verdict", value.get("name", "…")))
    text = str(value)
    if text.startswith("+") and text[1:].isdigit():
        try:
            n = phonenumbers.parse(text)
            return phonenumbers.format_number(n, phonenumbers.PhoneNumberFormat.NATIONAL)
        except phonenumbers.NumberParseException:
            return text
    if len(text) >= 19 and text[4] == "-" and text[10] == "T":
        try:
            return datetime.fromisoformat(text).strftime("%H:%M %d/%m/%Y")
        except ValueError:
            return text
    label = _option_label(options, text, locale)
    return label if label != text else (text if len(text) <= 200 else text[:200] + "…")
