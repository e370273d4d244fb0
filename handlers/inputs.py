"""What each kind of step does with the parent's input (the half of the dialogue that reads answers).

:class:`StepInputs` is the base of :class:`handlers.dialogue.Dialogue`, which supplies the moves between steps.
A typed answer is read by meaning (:mod:`handlers.answers`): negations, corrections, several answers at once,
"I don't know". While harm is being reported (``turn.harm``), the message is still read as the answer to the
question it came at; if it does not answer it, the question is asked again without an error. Free text that
answers no question is :mod:`handlers.freetext`'s.
"""

from __future__ import annotations

from typing import Any

from handlers.answers import declines, is_yes_no, read_choice, read_many
from handlers.commands import EXPLICIT_SKIP
from handlers.flowload import FlowSet
from handlers.flowspec import AnyStep, AskStep, ChoiceStep, MenuStep, MessageStep, Option, SubmitStep
from handlers.freetext import FreeText
from handlers.matching import exact_option, is_exclusive
from handlers.messages import Attachment, Button, OutboundMessage
from handlers.schoolslot import read_school, school_by_id
from handlers.texts import fill, say
from handlers.turn import SUBMIT_WORDS, Turn
from handlers.understanding import also_text, answer_also
from handlers.validators import Invalid, validate
from nlu.harm import read_harm

# Slot types where any text is an answer: "I don't have one" is looked for before the text is taken.
_FREE_TYPES = ("text", "place")


class StepInputs(FreeText):
    """Reads input at the current step. The moves (``_goto`` and friends) come from the subclass."""

    # ----- input at the current step -------------------------------------------------------------------
    def _input(self, turn: Turn, flows: FlowSet, step: AnyStep, command: str | None, norm: str,
               first_contact: bool) -> None:
        msg = turn.inbound
        if isinstance(step, MenuStep | MessageStep):
            options = step.options
            long_text = msg.payload is None and len(norm.split()) > 3
            chosen = None if long_text and self.understand else self._pick(options, msg.payload, norm)
            if chosen is None and msg.payload is None and norm and self.understand is not None:
                if self._on_intent(turn, flows, self._parse(turn, turn.text), first_contact):
                    return
                chosen = self._pick(options, None, norm) if long_text else None
            if chosen is None:
                if msg.payload is not None:
                    turn.say("unknown_button")
                elif not first_contact and (norm or msg.attachments):
                    turn.say("not_understood")
                self._reprompt(turn, flows)
                return
            self._choose(turn, flows, step, chosen)
            return
        if isinstance(step, AskStep):
            self._ask(turn, flows, step, command, norm)
            return
        if isinstance(step, ChoiceStep):
            self._choice(turn, flows, step, command, norm)
            return
        if isinstance(step, SubmitStep):
            self._submit_step(turn, flows, step, norm)
            return
        self._reprompt(turn, flows)

    def _choose(self, turn: Turn, flows: FlowSet, step: AnyStep, option: Option) -> None:
        turn.slots.update(option.set)
        if option.urgent:
            turn.state["urgent"] = True
        target = option.next or (step.next if isinstance(step, MessageStep) else "menu")
        self._advance(turn, flows, step, target, carry=option.carry)

    @staticmethod
    def _pick(options: tuple[Option, ...], payload: str | None, norm: str) -> Option | None:
        """A button, or an option named in words — not one named only to be denied ("không, không báo cáo")."""
        chosen = exact_option(options, payload, norm)
        if chosen is not None or payload is not None or not norm:
            return chosen
        return read_choice(options, norm, read_harm(norm)).option

    # ----- answers to questions -------------------------------------------------------------------------
    def _answered(self, turn: Turn, flows: FlowSet, step: AskStep | ChoiceStep, target: str) -> None:
        """The step's slot is filled: fill what the same answer also says, say so, and move on."""
        flow = flows.flows[turn.state["flow"]]
        found = answer_also(turn.text, step.also, flow, flows, turn.slots, conn=turn.conn, now=turn.now)
        turn.slots.update(found)
        note = also_text(found, flow, flows, turn.locale) if turn.inbound.payload is None else None
        if note:
            turn.out.append(OutboundMessage(note))
        self._advance(turn, flows, step, target)

    def _not_answered(self, turn: Turn, flows: FlowSet, key: str | None) -> None:
        """Ask again, saying why — unless the message was about harm (its advice says enough)."""
        if turn.harm is None and self._interrupt(turn, flows):
            return
        if turn.harm is None and key:
            turn.say(key)
        self._reprompt(turn, flows)

    def _declined(self, turn: Turn, flows: FlowSet, step: AskStep | ChoiceStep) -> None:
        """ "Không biết", "không có": skip the question, or say how to go on when it cannot be skipped."""
        if step.skippable:
            turn.slots[step.slot] = None
            self._advance(turn, flows, step, step.next)
            return
        buttons: list[Button] = []
        if isinstance(step, AskStep) and step.type == "url":
            buttons.append(Button("!intent:check_call", say("btn_check_call", turn.locale)))
        if turn.state.get("history"):
            buttons.append(Button("!back", say("btn_back", turn.locale)))
        buttons.append(Button("!menu", say("btn_menu", turn.locale)))
        key = "no_link_way_out" if isinstance(step, AskStep) and step.type == "url" else "needed_way_out"
        turn.out.append(OutboundMessage(say(key, turn.locale), tuple(buttons)))

    def _ask(self, turn: Turn, flows: FlowSet, step: AskStep, command: str | None, norm: str) -> None:
        msg = turn.inbound
        slots = turn.slots
        flow = flows.flows[turn.state["flow"]]
        if msg.attachments:
            target_slot = step.slot if step.type == "attachment" else next(
                (s for s, t in flow.slots.items() if t == "attachment"), None)
            if target_slot is not None:
                self._store_attachments(turn, target_slot, msg.attachments)
                self._reprompt(turn, flows)
                return
        if step.type == "attachment":
            if command in ("done", "skip") or msg.payload in ("!done", "!skip"):
                slots.setdefault(step.slot, [])
                self._advance(turn, flows, step, step.next)
                return
            if msg.payload is not None:
                turn.say("unknown_button")
            elif turn.harm is None:
                turn.say("need_attachment")
            self._reprompt(turn, flows)
            return
        if command == "skip" and (msg.payload is not None or norm in EXPLICIT_SKIP):
            if step.skippable:
                slots[step.slot] = None
                self._advance(turn, flows, step, step.next)
            else:
                self._declined(turn, flows, step)
            return
        if step.type == "school":
            self._school(turn, flows, step, norm)
            return
        if msg.payload is not None:
            turn.say("unknown_button")
            self._reprompt(turn, flows)
            return
        if step.type in _FREE_TYPES and turn.harm is None and declines(norm, max_words=8):
            self._declined(turn, flows, step)
            return
        shared_contact = msg.extras.get("contact_phone") if step.type == "phone" else None
        text = str(shared_contact) if shared_contact else turn.text
        try:
            parsed = validate(step.type, text, now=turn.now)
        except Invalid as exc:
            if command == "skip" or declines(norm):
                self._declined(turn, flows, step)
                return
            self._not_answered(turn, flows, exc.key)
            return
        slots[step.slot] = parsed.value
        for key, value in parsed.extra.items():
            if key in flow.slots and slots.get(key) in (None, ""):
                slots[key] = value
        self._answered(turn, flows, step, step.next)

    def _school(self, turn: Turn, flows: FlowSet, step: AskStep, norm: str) -> None:
        """A school's name: matched in the directory, offered as "did you mean", or kept as typed."""
        payload = turn.inbound.payload
        if payload is not None:
            value: Any = None
            if payload == "!school:typed":
                value = turn.state.pop("school_typed", None)
            elif payload.startswith("!school:"):
                value = school_by_id(turn.conn, payload[8:])
            if value is None:
                turn.say("unknown_button")
                self._reprompt(turn, flows)
                return
            turn.slots[step.slot] = value
            self._advance(turn, flows, step, step.next)
            return
        answer = read_school(turn.conn, turn.text)
        if answer.value is not None:
            turn.slots[step.slot] = answer.value
            self._answered(turn, flows, step, step.next)
            return
        if answer.choices:
            turn.state["school_typed"] = answer.typed
            buttons = [Button(f"!school:{s.id}", s.name + (f" ({s.commune})" if s.commune else ""))
                       for s in answer.choices]
            buttons.append(Button("!school:typed", say("btn_keep_typed", turn.locale, name=answer.typed or "")))
            if step.skippable:
                buttons.append(Button("!skip", say("btn_skip", turn.locale)))
            turn.out.append(OutboundMessage(say("did_you_mean", turn.locale), tuple(buttons)))
            return
        if declines(norm):
            self._declined(turn, flows, step)
            return
        self._not_answered(turn, flows, "school_question" if answer.question else "school_name")

    def _store_attachments(self, turn: Turn, slot: str, attachments: tuple[Attachment, ...]) -> None:
        stored: list[dict[str, Any]] = list(turn.slots.get(slot) or [])
        for a in attachments:
            if len(stored) >= self.max_attachments:
                turn.say("attachment_rejected", max_mb=10, max_count=self.max_attachments)
                break
            stored.append({"kind": a.kind, "mime_type": a.mime_type, "size": a.size, "sha256": a.sha256,
                           "path": a.path, "file_name": a.file_name})
        turn.slots[slot] = stored
        turn.say("attachment_saved", count=len(stored))

    def _choice(self, turn: Turn, flows: FlowSet, step: ChoiceStep, command: str | None, norm: str) -> None:
        msg = turn.inbound
        options = flows.option_sets[step.options]
        if command == "skip" and (msg.payload is not None or norm in EXPLICIT_SKIP):
            if step.skippable:
                turn.slots[step.slot] = None
                self._advance(turn, flows, step, step.next)
            else:
                self._declined(turn, flows, step)
            return
        if step.multiple:
            self._multi(turn, flows, step, options, command, norm)
            return
        chosen = exact_option(options, msg.payload, norm)
        if msg.payload is not None and chosen is None:
            turn.say("unknown_button")
            self._reprompt(turn, flows)
            return
        unsure = False
        if chosen is None:
            reading = read_choice(options, norm, turn.harm or read_harm(norm), step.options)
            chosen, unsure = reading.option, reading.unsure
        if chosen is None:
            if unsure and (is_yes_no(options) or not step.skippable):
                # Understood: the parent does not know yet. Say how to find out; nothing to interrupt.
                turn.say("unsure_money" if step.options == "money_lost" else "unsure_answer")
                self._reprompt(turn, flows)
            elif command == "skip" or declines(norm):
                self._declined(turn, flows, step)
            else:
                self._not_answered(turn, flows, "choose_option")
            return
        turn.slots[step.slot] = chosen.id
        turn.slots.update(chosen.set)
        if chosen.urgent:
            self._mark_urgent(turn, flows)
        self._answered(turn, flows, step, chosen.next or step.next)

    def _multi(self, turn: Turn, flows: FlowSet, step: ChoiceStep, options: tuple[Option, ...],
               command: str | None, norm: str) -> None:
        msg = turn.inbound
        pending: list[str] = list(turn.state.get("pending") or [])
        if command == "done":
            self._finish_multi(turn, flows, step, options, pending)
            return
        if msg.payload is not None:
            chosen = exact_option(options, msg.payload, norm)
            if chosen is None:
                turn.say("unknown_button")
            elif chosen.exclusive:
                self._finish_multi(turn, flows, step, options, [chosen.id])
                return
            elif chosen.id in pending:
                pending.remove(chosen.id)
            else:
                pending = [p for p in pending if not is_exclusive(options, p)] + [chosen.id]
            turn.state["pending"] = pending
            self._reprompt(turn, flows)
            return
        picked = read_many(options, step.options, norm, turn.harm or read_harm(norm))
        if not picked.understood:
            if declines(norm):
                self._declined(turn, flows, step)
            else:
                self._not_answered(turn, flows, "choose_option")
            return
        # A typed answer adds to what is ticked ("bắt cài app" after ticking "Mã OTP" keeps both); what it
        # names as not so is taken off ("không, không đòi OTP").
        kept = [p for p in pending if p not in picked.remove and not is_exclusive(options, p)]
        ticked = kept + [a for a in picked.add if a not in kept]
        if not ticked and picked.none:
            ticked = [o.id for o in options if o.exclusive][:1]
        labels = [o.label.get(turn.locale) for o in options if o.id in ticked]
        if labels:
            turn.say("understood_picked", items=", ".join(labels))
        self._finish_multi(turn, flows, step, options, ticked)

    def _finish_multi(self, turn: Turn, flows: FlowSet, step: ChoiceStep, options: tuple[Option, ...],
                      chosen: list[str]) -> None:
        # "None of these" is kept as [] (shown as its own label), a question left unticked as not answered.
        if any(is_exclusive(options, c) for c in chosen):
            turn.slots[step.slot] = []
        else:
            turn.slots[step.slot] = [o.id for o in options if o.id in chosen] or None  # the flow's order
        turn.state["pending"] = []
        if any(o.urgent for o in options if o.id in chosen):
            self._mark_urgent(turn, flows)
        self._answered(turn, flows, step, step.next)

    def _submit_step(self, turn: Turn, flows: FlowSet, step: SubmitStep, norm: str) -> None:
        payload = turn.inbound.payload
        if turn.harm is None and (payload == "!submit" or (payload is None and norm in SUBMIT_WORDS)):
            reference = self.submit(turn)
            turn.out.append(OutboundMessage(fill(step.done.get(turn.locale), {**self.variables,
                                                                               "reference": reference})))
            self._goto(turn, flows, step.next)
            return
        if payload == "!edit" or (payload is None and norm in ("sua", "edit", "sua thong tin", "chinh sua")):
            buttons = [Button(f"!edit:{i}", f.label.get(turn.locale)) for i, f in enumerate(step.fields)]
            turn.out.append(OutboundMessage(say("edit_which", turn.locale), tuple(buttons)))
            return
        if payload and payload.startswith("!edit:") and payload[6:].isdigit() and int(payload[6:]) < len(step.fields):
            field_ = step.fields[int(payload[6:])]
            target = flows.flows[turn.state["flow"]].step(field_.step)
            # The field's old answer is forgotten (a several-answers one comes back ticked); then the walk on
            # passes every step whose slot is still filled, so the parent lands back on the summary — after
            # any follow-up question the new answer opened up.
            turn.state["pending"] = self._reopen(turn, target)
            self._goto(turn, flows, field_.step)
            return
        if payload is not None:
            turn.say("unknown_button")
        self._reprompt(turn, flows)
