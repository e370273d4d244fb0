"""Evidence in the conversation: show what was read, check it, and pre-fill the report.

Called by the dialogue at the start of a turn (before harm words are looked for: a forwarded scam saying
"chuyển tiền gấp" is the scammer's words, not the parent's). Two cases:

- **Outside a form** (the menu, after a check): "Tôi đọc được: …", the verdict with its reasons, then the
  ``check_evidence`` flow offers to report it; the report starts with every field that was read filled in.
- **Inside a form** (the report, a check): what was read fills the fields still empty, the image is kept
  with the report (as a screenshot), and the form goes on from the first question still open.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from handlers.checks.dialogue import render as render_verdict
from handlers.checks.phones import find_phones
from handlers.checks.signals import asked_in_text
from handlers.checks.urls import find_urls
from handlers.evidence.apps import OfficialApp
from handlers.evidence.check import EvidenceFacts, check_evidence, facts_of
from handlers.evidence.forwarded import forwarded_of
from handlers.evidence.render import describe
from handlers.evidence.work import Reading, readings_of
from handlers.flowload import FlowSet
from handlers.flowspec import AnyStep, AskStep, ChoiceStep, SubmitStep
from handlers.messages import Attachment, OutboundMessage
from handlers.turn import MAIN_FLOW, Turn
from handlers.understanding import understood_text
from handlers.validators import Invalid, validate
from storage.crypto import Cipher

FLOW = "check_evidence"
EVIDENCE_SLOT = "evidence"
MAX_READINGS_KEPT = 10


class Moves(Protocol):
    """What this module needs from :class:`handlers.dialogue.Dialogue`."""

    max_attachments: int

    def _goto(self, turn: Turn, flows: FlowSet, target: str, *, carry: bool = False, render: bool = True) -> None:
        ...

    def _reprompt(self, turn: Turn, flows: FlowSet) -> None:
        ...

    def _current(self, flows: FlowSet, state: dict[str, Any]) -> AnyStep | None:
        ...

    def _store_attachments(self, turn: Turn, slot: str, attachments: tuple[Attachment, ...]) -> None:
        ...


def _valid(slot_type: str, value: str, turn: Turn) -> Any:
    try:
        return validate(slot_type, value, now=turn.now).value
    except Invalid:
        return None


def found_slots(facts: EvidenceFacts, turn: Turn, flows: FlowSet) -> dict[str, Any]:
    """The report fields the evidence answers (values in the slots' own formats)."""
    out: dict[str, Any] = {}
    phone = next((p for p in (_valid("phone", p, turn) for p in facts.phones) if p), None)
    if phone is None and facts.text:
        phone = next((p for p in (_valid("phone", p, turn) for p in find_phones(facts.text)) if p), None)
    if phone:
        out["caller_number"] = phone
    found = (link for _start, _end, link in find_urls(facts.text))
    links = [u for u in (_valid("url", x, turn) for x in (*facts.links, *found)) if u]
    links = list(dict.fromkeys(links))
    if links:
        out["link"] = links[0]
        if len(links) > 1:
            out["other_links"] = links[1:]
    if facts.text:
        out["message_text"] = facts.text[:4000]
        ids = {o.id for o in flows.option_sets.get("asked", ())}
        asked = [a for a in sorted(asked_in_text(facts.text)) if a in ids]
        if asked:
            out["asked"] = asked
    return out


def summary(readings: Sequence[Reading], facts: EvidenceFacts) -> dict[str, Any]:
    """What is kept with the tip: every reading (text masked), and the accounts that join its cluster keys."""
    return {"readings": [r.to_json() for r in readings][:MAX_READINGS_KEPT],
            "accounts": [{"account": a, "bank": b} for a, b in facts.accounts]}


def _merge_summary(slots: dict[str, Any], new: dict[str, Any]) -> None:
    kept = slots.get(EVIDENCE_SLOT)
    old: dict[str, Any] = kept if isinstance(kept, dict) else {}
    slots[EVIDENCE_SLOT] = {
        "readings": [*(old.get("readings") or []), *new["readings"]][-MAX_READINGS_KEPT:],
        "accounts": list({(a["account"], a["bank"]): a for a in [*(old.get("accounts") or []), *new["accounts"]]}
                         .values()),
    }


def _stored(attachments: tuple[Attachment, ...], limit: int) -> list[dict[str, Any]]:
    return [{"kind": a.kind, "mime_type": a.mime_type, "size": a.size, "sha256": a.sha256, "path": a.path,
             "file_name": a.file_name} for a in attachments[:limit]]


def _checkable(facts: EvidenceFacts, readings: Sequence[Reading]) -> bool:
    return bool(facts.text or facts.phones or facts.links or facts.accounts
                or any(r.apk is not None or any(c.get("kind") == "payment" for c in r.codes) for r in readings))


def handle_evidence(moves: Moves, turn: Turn, flows: FlowSet, *, cipher: Cipher,
                    apps: tuple[OfficialApp, ...] | None = None) -> bool:
    """Handle a turn that carries evidence; False when it carries none (the dialogue goes on as usual).

    ``cipher`` gives the blind index the check counts citizens' reports by.
    """
    msg = turn.inbound
    if FLOW not in flows.flows or msg.payload is not None:
        return False
    readings = readings_of(msg)
    if not readings:
        forwarded = forwarded_of(turn.text, msg.extras)
        if forwarded is None:
            return False
        readings = [Reading("forwarded", text=forwarded.text[:4000], sender=forwarded.sender_phone or forwarded.sender)]
    state = turn.state
    step = moves._current(flows, state)
    in_form = state.get("flow") not in (MAIN_FLOW, FLOW, None) and isinstance(step, AskStep | ChoiceStep | SubmitStep)
    facts = facts_of(readings)
    if in_form:
        _in_form(moves, turn, flows, step, readings, facts)
    else:
        _outside_form(moves, turn, flows, readings, facts, apps, cipher)
    return True


def _in_form(moves: Moves, turn: Turn, flows: FlowSet, step: AnyStep | None, readings: Sequence[Reading],
             facts: EvidenceFacts) -> None:
    flow = flows.flows[turn.state["flow"]]
    slots = turn.slots
    attachment_slot = next((s for s, t in flow.slots.items() if t == "attachment"), None)
    if turn.inbound.attachments and attachment_slot is not None:
        moves._store_attachments(turn, attachment_slot, turn.inbound.attachments)  # "Đã nhận …" comes first
    turn.out.extend(OutboundMessage(text) for text in describe(readings, turn.locale))
    filled = {k: v for k, v in found_slots(facts, turn, flows).items()
              if k in flow.slots and slots.get(k) in (None, "", [])}
    slots.update(filled)
    _merge_summary(slots, summary(readings, facts))
    note = understood_text({k: v for k, v in filled.items() if k != "message_text"}, flow, flows, turn.locale)
    if note:
        turn.out.append(OutboundMessage(note))
    if isinstance(step, AskStep | ChoiceStep) and step.slot in filled:
        moves._goto(turn, flows, step.id)  # now answered: pass on to the first question still open
    else:
        moves._reprompt(turn, flows)


def _outside_form(moves: Moves, turn: Turn, flows: FlowSet, readings: Sequence[Reading], facts: EvidenceFacts,
                  apps: tuple[OfficialApp, ...] | None, cipher: Cipher) -> None:
    turn.out.extend(OutboundMessage(text) for text in describe(readings, turn.locale))
    slots: dict[str, Any] = found_slots(facts, turn, flows)
    if turn.inbound.attachments:
        slots["screenshots"] = _stored(turn.inbound.attachments, moves.max_attachments)
    _merge_summary(slots, summary(readings, facts))
    if _checkable(facts, readings):
        result = check_evidence(turn.conn, readings, apps=apps, cipher=cipher)
        turn.out.extend(render_verdict(result, turn.locale))
        slots["evidence_check"] = result.to_json()
    turn.state["slots"] = slots
    moves._goto(turn, flows, f"flow:{FLOW}", carry=True)
