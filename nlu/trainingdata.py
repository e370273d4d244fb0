"""Read Rasa 3.x NLU training data (``nlu:`` blocks of ``- intent:`` with ``examples: |``).

Only intents and their examples are used; synonyms, regexes and lookup tables are ignored, and entity
annotations (``[text](entity)``, ``[text]{"entity": …}``, ``[text][{…}]``) are reduced to their text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

_ANNOTATION = re.compile(r"\[(?P<text>[^\]]+?)\](?:\([^)]*\)|\{[^}]*\}|\[[^\]]*\])")


class TrainingDataError(ValueError):
    """The file is not Rasa NLU data we can read; the message names the file and the problem."""


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled message."""

    text: str
    intent: str


def strip_annotations(line: str) -> str:
    """``"gọi từ [0377 123 999](phone_number)"`` → ``"gọi từ 0377 123 999"``."""
    return _ANNOTATION.sub(lambda m: m.group("text"), line)


def load_examples(path: Path) -> list[Example]:
    """Every (text, intent) pair in the Rasa NLU file at ``path``, in file order."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise TrainingDataError(f"{path}: cannot read: {exc}".splitlines()[0]) from None
    if not isinstance(data, dict) or not isinstance(data.get("nlu"), list):
        raise TrainingDataError(f"{path}: expected a mapping with an 'nlu:' list (Rasa 3.x format)")
    examples: list[Example] = []
    for i, block in enumerate(data["nlu"]):
        if not isinstance(block, dict) or "intent" not in block:
            continue  # synonym / regex / lookup blocks
        intent = str(block["intent"])
        raw = block.get("examples")
        if not isinstance(raw, str):
            raise TrainingDataError(f"{path}: nlu[{i}] (intent {intent}): 'examples' must be a '|' block")
        for line in raw.splitlines():
            line = line.strip()
            if not line:
                continue
            if not line.startswith("- "):
                raise TrainingDataError(f"{path}: intent {intent}: example lines start with '- ': {line!r}")
            text = strip_annotations(line[2:].strip())
            if text:
                examples.append(Example(text, intent))
    if not examples:
        raise TrainingDataError(f"{path}: no intent examples found")
    return examples
