"""Typed flow definitions: one class per step kind, parsed from ``handlers/flows/*.yaml``.

Structural errors (wrong types, missing translations) come from pydantic; graph errors (unknown targets,
unreachable steps, unknown slots) from :mod:`handlers.flowload`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

SlotType = Literal["phone", "url", "datetime", "money", "text", "attachment", "choice", "multi_choice", "bool",
                   "school", "place"]
INPUT_TYPES = ("phone", "url", "datetime", "money", "text", "attachment", "school", "place")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(_Model):
    """A text in both languages. Both are required: a missing translation is a load error."""

    vi: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def get(self, locale: str) -> str:
        return self.en if locale == "en" else self.vi


class Option(_Model):
    """A button. ``id`` is short ASCII because it travels as callback data (Telegram: ≤ 64 bytes)."""

    id: str = Field(pattern=r"^[a-z0-9_]{1,24}$")
    label: Text
    aliases: tuple[str, ...] = ()  # folded words a parent may type instead of pressing the button
    next: str | None = None
    set: dict[str, Any] = Field(default_factory=dict)
    urgent: bool = False  # choosing it means harm is done: show the urgent advice, mark the tip urgent
    carry: bool = False  # jumping to another flow keeps the slots collected so far (pre-filled report)
    exclusive: bool = False  # in a multi-choice, choosing it clears the others ("none of these")


class _Step(_Model):
    id: str = Field(pattern=r"^[a-z0-9_]{1,32}$")
    set: dict[str, Any] = Field(default_factory=dict)  # slots assigned when the step is entered


class MenuStep(_Step):
    kind: Literal["menu"]
    prompt: Text
    options: tuple[Option, ...] = Field(min_length=1)


class AskStep(_Step):
    """Ask for a typed value (phone, link, time, amount, free text, screenshots) and store it in a slot."""

    kind: Literal["ask"]
    slot: str
    # "school": a name matched against the directory ("did you mean" buttons); "place": a commune or ward.
    type: Literal["phone", "url", "datetime", "money", "text", "attachment", "school", "place"]
    prompt: Text
    next: str
    skippable: bool = True
    request_contact: bool = False  # channels that can offer "share my phone number" do so here
    also: tuple[str, ...] = ()  # later slots the same answer may fill ("0377… gọi lúc 9h" → contact_time)


class ChoiceStep(_Step):
    """Pick one (or several, ``multiple: true``) of an option set, by button, number or words."""

    kind: Literal["choice"]
    slot: str
    prompt: Text
    options: str  # name of an option set in choices.yaml
    next: str
    multiple: bool = False
    skippable: bool = True
    also: tuple[str, ...] = ()  # later slots the same answer may fill ("có, mất 5 triệu" → amount)


class MessageStep(_Step):
    """Say something. With options it waits for a press; without, it moves straight on to ``next``."""

    kind: Literal["message"]
    text: Text
    next: str = "end"
    options: tuple[Option, ...] = ()
    urgent: bool = False  # channels show it prominently (red, first, never collapsed)


class Condition(_Model):
    slot: str
    equals: Any = None
    contains: Any = None
    filled: bool | None = None


class Case(_Model):
    when: Condition
    next: str


class BranchStep(_Step):
    kind: Literal["branch"]
    cases: tuple[Case, ...] = Field(min_length=1)
    default: str


class CheckStep(_Step):
    """Run a check (``call`` or ``link``) over the slots; the result lands in ``slot``."""

    kind: Literal["check"]
    checker: Literal["call", "link"]
    slot: str
    next: str
    # Answer as soon as a conclusive signal is known (a blocklisted number or domain, an ask for an OTP),
    # instead of asking the questions before this step first.
    early: bool = False


class SummaryField(_Model):
    slot: str
    label: Text
    step: str  # where "edit" sends the parent for this field


class SubmitStep(_Step):
    """Show the summary with "submit", "edit a field" and "cancel"; submitting files the tip."""

    kind: Literal["submit"]
    prompt: Text
    fields: tuple[SummaryField, ...] = Field(min_length=1)
    done: Text  # shown after submitting; ``{reference}`` is replaced by the tip reference
    next: str = "end"


Step = Annotated[
    MenuStep | AskStep | ChoiceStep | MessageStep | BranchStep | CheckStep | SubmitStep,
    Field(discriminator="kind"),
]


class Flow(_Model):
    id: str = Field(pattern=r"^[a-z0-9_]{1,32}$")
    title: Text
    start: str
    intents: tuple[str, ...] = ()  # which understood intents start this flow
    slots: dict[str, SlotType] = Field(default_factory=dict)
    steps: tuple[Step, ...] = Field(min_length=1)

    def step(self, step_id: str) -> MenuStep | AskStep | ChoiceStep | MessageStep | BranchStep | CheckStep | SubmitStep:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(step_id)


class FlowFile(_Model):
    flows: tuple[Flow, ...] = ()
    option_sets: dict[str, tuple[Option, ...]] = Field(default_factory=dict)

    @field_validator("option_sets")
    @classmethod
    def _non_empty(cls, value: dict[str, tuple[Option, ...]]) -> dict[str, tuple[Option, ...]]:
        for name, options in value.items():
            if not options:
                raise ValueError(f"option set {name!r} is empty")
        return value


AnyStep = MenuStep | AskStep | ChoiceStep | MessageStep | BranchStep | CheckStep | SubmitStep
