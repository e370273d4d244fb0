"""The engine's side of scam-warning subscriptions: agreeing at the end of ``handlers/flows/subscribe.yaml``,
stopping with one word or the button under every warning, and the offer after a report.

Called inside the engine's turn (same transaction, conversation locked), like :mod:`handlers.handoff`:

- :meth:`SubscribeHook.intercept` takes "dừng" / "stop" / "huỷ đăng ký" (and the ``!unsubscribe`` button)
  before the flow runs. "huỷ đăng ký" and the button always stop warnings; the bare "dừng" / "stop" only
  when the chat is subscribed and not in the middle of a form (there "stop" still cancels the form, and a
  typed "đúng" — which folds to the same letters — is never read as "dừng").
  An option of the subscribe flow that sets ``subscribe_consent: given`` records the subscription (school
  matched in the directory, commune in the units' map; the consent's time and wording), and the flow goes
  on to its "done" text.
- :meth:`SubscribeHook.after` adds what was subscribed to, offers warnings after a report is filed, and
  deletes the chat's subscription when the parent asked to be forgotten.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa

from handlers.checks.schools import choose, name_key, sub_phrases
from handlers.flowload import FlowSet
from handlers.flowspec import MenuStep, MessageStep
from handlers.matching import match_option
from handlers.messages import Button, OutboundMessage
from handlers.render import prompt
from handlers.turn import MAIN_FLOW, MENU_STEP, Turn
from nlu.normalize import normalize
from storage import reference, subscriptions
from storage.conversations import chat_ref
from storage.crypto import Cipher
from storage.schema import tips
from storage.units import commune_keys, match_commune

SUBSCRIBE_FLOW = "subscribe"
SUBSCRIBE_OPTION = "subscribe"  # the main menu's option that starts the flow (handlers/flows/main.yaml)
UNSUBSCRIBE = "!unsubscribe"  # the button under every warning (bot/broadcast_delivery.py)
CONSENT_SLOT, CONSENT_GIVEN = "subscribe_consent", "given"
SCHOOL_SLOT, COMMUNE_SLOT = "sub_school", "sub_commune"
_DONE = "_subscribed"  # a turn-local marker in the state (popped in after())
_ALWAYS = frozenset({"huy dang ky", "/unsubscribe", "unsubscribe", "ngung nhan canh bao", "dung nhan canh bao",
                     "tat canh bao", "khong nhan canh bao", "khong nhan canh bao nua", "huy nhan canh bao",
                     "stop warnings", "stop alerts"})
_SHORT = frozenset({"dung", "stop", "/stop", "dung lai"})
_TEXTS = {
    "stopped": {"vi": "🔕 Đã ngừng gửi cảnh báo lừa đảo cho bạn. Muốn nhận lại, chọn “Nhận cảnh báo lừa đảo” "
                      "trong menu.",
                "en": "🔕 You will get no more scam warnings. To get them again, choose “Scam warnings” in the "
                      "menu."},
    "not_subscribed": {"vi": "Bạn chưa đăng ký nhận cảnh báo lừa đảo.",
                       "en": "You are not subscribed to scam warnings."},
    "summary": {"vi": "Bạn sẽ nhận cảnh báo cho: {what}.", "en": "You will get warnings for: {what}."},
    "province": {"vi": "cả tỉnh", "en": "the whole province"},
    "school": {"vi": "trường {name}", "en": "school {name}"},
    "commune": {"vi": "{name}", "en": "{name}"},
    "school_unknown": {"vi": "Chưa tìm thấy trường “{name}” trong danh bạ: bạn vẫn nhận các cảnh báo chung của "
                             "tỉnh.",
                       "en": "“{name}” is not in the school directory yet: you will still get the province's "
                             "warnings."},
    "offer": {"vi": "Bạn có muốn nhận cảnh báo khi có thủ đoạn lừa đảo mới ở trường / xã của mình không?",
              "en": "Would you like a warning when a new scam targets your school or commune?"},
    "offer_button": {"vi": "🔔 Nhận cảnh báo lừa đảo cho trường / xã của tôi",
                     "en": "🔔 Scam warnings for my school / commune"},
}


def _t(key: str, locale: str, **values: Any) -> str:
    text = _TEXTS[key]["en" if locale == "en" else "vi"]
    return text.format(**values) if values else text


def _text_of(value: Any) -> str | None:
    if isinstance(value, Mapping):  # a school already matched ({"id", "name"})
        value = value.get("name")
    return value.strip()[:255] if isinstance(value, str) and value.strip() else None


def resolve_school(conn: sa.Connection, value: Any) -> tuple[str | None, str | None]:
    """(directory id, name) of the school a parent named; (None, what they typed) when not exactly one."""
    if isinstance(value, Mapping) and isinstance(value.get("id"), str):
        found = reference.get_schools(conn, ids=[value["id"]])
        if found:
            return found[0].id, found[0].name
    typed = _text_of(value)
    if typed is None:
        return None, None
    key = name_key(typed)
    if not key.core:
        return None, typed
    chosen = choose(key, reference.schools_with_name_keys(conn, keys=sub_phrases(key)))
    if not chosen:
        chosen = choose(key, reference.schools_with_name_part(conn, padded_core=key.padded))
    return (chosen[0].id, chosen[0].name) if len(chosen) == 1 else (None, typed)


def resolve_commune(conn: sa.Connection, value: Any) -> tuple[str | None, str | None, str | None]:
    """(official code or None, folded name, name) of the commune a parent typed."""
    typed = _text_of(value)
    if typed is None:
        return None, None, None
    found = match_commune(conn, text=typed)
    if found is not None:
        return found.code, commune_keys(found.name)[1], found.name
    return None, commune_keys(typed)[1] or None, typed


class SubscribeHook:
    """See the module docstring. Holds no state of its own."""

    def __init__(self, *, cipher: Cipher, flows: Callable[[], FlowSet], variables: Mapping[str, Any]) -> None:
        self.cipher = cipher
        self.flows = flows
        self.variables = dict(variables)

    def intercept(self, turn: Turn) -> bool:
        msg, state = turn.inbound, turn.state
        norm = normalize(turn.text).strip(" .!") if turn.text else ""
        ref = chat_ref(self.cipher, msg.key)
        if msg.payload == UNSUBSCRIBE or (msg.payload is None and norm in _ALWAYS):
            self._stop(turn, ref, always_answer=True)
            return True
        in_form = state.get("flow") not in (None, MAIN_FLOW)
        if msg.payload is None and norm in _SHORT and not in_form and "đúng" not in turn.text.lower():
            return self._stop(turn, ref, always_answer=False)
        if state.get("flow") == SUBSCRIBE_FLOW:
            self._maybe_subscribe(turn, ref, norm)
        elif state.get("flow") == "report" and state.get("step"):
            state["_report_step"] = state["step"]  # after(): was a report filed in this turn?
        return False

    def _stop(self, turn: Turn, ref: str, *, always_answer: bool) -> bool:
        stopped = subscriptions.stop(turn.conn, channel=turn.inbound.channel, ref=ref, now=turn.now)
        if not stopped and not always_answer:
            return False  # "stop" from someone not subscribed: the flow's own "cancel"
        turn.out.append(OutboundMessage(_t("stopped" if stopped else "not_subscribed", turn.locale)))
        self._reprompt(turn)
        return True

    def _maybe_subscribe(self, turn: Turn, ref: str, norm: str) -> None:
        flows = self.flows()
        flow = flows.flows.get(SUBSCRIBE_FLOW)
        step_id = turn.state.get("step")
        if flow is None or not step_id:
            return
        try:
            step = flow.step(step_id)
        except KeyError:
            return
        if not isinstance(step, MessageStep | MenuStep) or not step.options:
            return
        chosen = match_option(step.options, turn.inbound.payload, norm, turn.locale)
        if chosen is None or chosen.set.get(CONSENT_SLOT) != CONSENT_GIVEN:
            return
        conn, slots = turn.conn, turn.slots
        school_id, school_name = resolve_school(conn, slots.get(SCHOOL_SLOT))
        code, key, commune_name = resolve_commune(conn, slots.get(COMMUNE_SLOT))
        subscriptions.subscribe(conn, channel=turn.inbound.channel, ref=ref, chat_id=turn.inbound.chat_id,
                                locale=turn.locale, school_id=school_id, school_name=school_name,
                                commune_code=code, commune_key=key, commune_name=commune_name, now=turn.now,
                                cipher=self.cipher)
        parts = []
        if school_id and school_name:
            parts.append(_t("school", turn.locale, name=school_name))
        if commune_name:
            parts.append(_t("commune", turn.locale, name=commune_name))
        turn.state[_DONE] = {"what": ", ".join(parts) or _t("province", turn.locale),
                             "unknown_school": school_name if school_id is None else None}

    def after(self, turn: Turn) -> None:
        state = turn.state
        if turn.erase:
            subscriptions.forget(turn.conn, ref=chat_ref(self.cipher, turn.inbound.key))
            return
        done = state.pop(_DONE, None)
        if isinstance(done, dict):
            # Before the menu the flow ends on: right after the flow's own "done" text.
            at = next((i for i, m in enumerate(turn.out) if m.buttons), len(turn.out))
            notes = [OutboundMessage(_t("summary", turn.locale, what=done["what"]))]
            if done.get("unknown_school"):
                notes.append(OutboundMessage(_t("school_unknown", turn.locale, name=done["unknown_school"])))
            turn.out[at:at] = notes
        was_report = state.pop("_report_step", None)
        if was_report and state.get("flow") == MAIN_FLOW and self._filed_now(turn):
            ref = chat_ref(self.cipher, turn.inbound.key)
            current = subscriptions.of_chat(turn.conn, channel=turn.inbound.channel, ref=ref)
            if current is None or current.status != "active":
                turn.out.append(OutboundMessage(_t("offer", turn.locale), (
                    Button(SUBSCRIBE_OPTION, _t("offer_button", turn.locale)),)))

    def _filed_now(self, turn: Turn) -> bool:
        ref = chat_ref(self.cipher, turn.inbound.key)
        return turn.conn.execute(sa.select(tips.c.id).where(tips.c.reporter_ref == ref,
                                                            tips.c.created_at == turn.now).limit(1)).first() is not None

    def _reprompt(self, turn: Turn) -> None:
        flows = self.flows()
        flow = flows.flows.get(turn.state.get("flow") or MAIN_FLOW) or flows.flows[MAIN_FLOW]
        step_id = turn.state.get("step") or MENU_STEP
        try:
            step = flow.step(step_id)
        except KeyError:
            step = flows.flows[MAIN_FLOW].step(MENU_STEP)
        shown = prompt(step, turn.state, flows, turn.locale, self.variables)
        if shown is not None:
            turn.out.append(shown)

