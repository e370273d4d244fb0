"""The shipped Rasa-format data and its reader."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml

from nlu.api import DEFAULT_TRAINING_FILE
from nlu.normalize import normalize
from nlu.trainingdata import TrainingDataError, load_examples, strip_annotations

TEST_FILE = DEFAULT_TRAINING_FILE.parent / "test.yml"
INTENTS = {
    "greet", "goodbye", "thanks", "affirm", "deny", "cancel", "help", "report_scam", "check_call", "check_link",
    "money_lost", "shared_credentials", "ask_official_app", "ask_scam_signs", "ask_contact", "ask_privacy",
    "talk_to_officer", "out_of_scope",
}  # fmt: skip


@pytest.mark.parametrize(("path", "minimum"), [(DEFAULT_TRAINING_FILE, 40), (TEST_FILE, 15)])
def test_shipped_files_cover_every_intent(path: Path, minimum: int) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert data["version"] == "3.1"  # what `rasa train nlu` expects
    counts = Counter(e.intent for e in load_examples(path))
    assert set(counts) == INTENTS
    assert min(counts.values()) >= minimum


def test_held_out_split_never_repeats_a_training_line() -> None:
    train = {normalize(e.text) for e in load_examples(DEFAULT_TRAINING_FILE)}
    overlap = [e.text for e in load_examples(TEST_FILE) if normalize(e.text) in train]
    assert overlap == []


def test_no_training_line_is_given_two_intents_unless_folding_merges_words() -> None:
    labels: dict[str, set[str]] = {}
    for e in load_examples(DEFAULT_TRAINING_FILE):
        labels.setdefault(e.text.lower(), set()).add(e.intent)
    assert [t for t, ls in labels.items() if len(ls) > 1] == []


def test_entity_annotations_are_reduced_to_their_text() -> None:
    line = 'gọi từ [0377 123 999](phone_number) xưng [cô giáo]{"entity": "claimed_role", "value": "teacher"}'
    assert strip_annotations(line) == "gọi từ 0377 123 999 xưng cô giáo"


def test_reads_annotated_examples_and_skips_other_blocks(tmp_path: Path) -> None:
    path = tmp_path / "nlu.yml"
    path.write_text(
        'version: "3.1"\nnlu:\n- synonym: vnedu\n  examples: |\n    - vn edu\n'
        "- intent: check_call\n  examples: |\n    - số [0377 123 999](phone_number) gọi\n    - có thật không\n",
        encoding="utf-8",
    )
    assert [(e.text, e.intent) for e in load_examples(path)] == [
        ("số 0377 123 999 gọi", "check_call"),
        ("có thật không", "check_call"),
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("just text", "expected a mapping"),
        ('version: "3.1"\nnlu:\n- intent: greet\n  examples: [a, b]\n', "'examples' must be a '|' block"),
        ('version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    hello\n', "start with '- '"),
        ('version: "3.1"\nnlu: []\n', "no intent examples"),
        ("nlu: [unclosed", "cannot read"),
    ],
)
def test_bad_files_name_the_problem(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.yml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(TrainingDataError, match=message) as info:
        load_examples(path)
    assert str(path) in str(info.value)
