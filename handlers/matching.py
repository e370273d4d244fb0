"""Matching what a parent typed against a step's options: buttons, numbers, labels and alias words."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from handlers.flowspec import Condition, Option
from nlu.normalize import normalize


def exact_option(options: tuple[Option, ...], payload: str | None, norm: str) -> Option | None:
    """A pressed button, an option's number, or its whole label or id typed (no reading of meaning)."""
    if payload is not None:
        return next((o for o in options if o.id == payload), None)
    if norm.isascii() and norm.isdigit() and 1 <= int(norm) <= len(options):
        return options[int(norm) - 1]
    text = norm.strip(" .!")
    return next((o for o in options if text in (_normalized(o.label.vi), _normalized(o.label.en), o.id)), None)


def match_option(options: tuple[Option, ...], payload: str | None, norm: str, locale: str) -> Option | None:
    if payload is not None:
        return next((o for o in options if o.id == payload), None)
    if norm.isascii() and norm.isdigit() and 1 <= int(norm) <= len(options):
        return options[int(norm) - 1]
    for o in options:
        if norm in (_normalized(o.label.vi), _normalized(o.label.en), o.id) or any(
                _has_phrase(norm, a) for a in o.aliases):
            return o
    return None


# Labels and aliases come from the flows, a small fixed set: normalise and compile each once, not per message.
@lru_cache(maxsize=4096)
def _normalized(text: str) -> str:
    return normalize(text)


@lru_cache(maxsize=4096)
def _phrase_re(alias: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![a-z0-9]){re.escape(normalize(alias))}(?![a-z0-9])")


def _has_phrase(norm: str, alias: str) -> bool:
    return _phrase_re(alias).search(norm) is not None


def match_many(options: tuple[Option, ...], norm: str) -> list[Option]:
    numbers = re.findall(r"\d+", norm)
    if numbers and re.fullmatch(r"[\d\s,;.va&+]+", norm):
        return [options[int(n) - 1] for n in numbers if 1 <= int(n) <= len(options)]
    return [o for o in options if any(_has_phrase(norm, a) for a in (*o.aliases, o.label.vi, o.label.en))]


def condition_holds(cond: Condition, slots: Mapping[str, Any]) -> bool:
    value = slots.get(cond.slot)
    if cond.filled is not None and (value not in (None, "", [])) != cond.filled:
        return False
    if cond.equals is not None and value != cond.equals:
        return False
    return not (cond.contains is not None and (not isinstance(value, list) or cond.contains not in value))


def is_exclusive(options: tuple[Option, ...], option_id: str) -> bool:
    return any(o.id == option_id and o.exclusive for o in options)
