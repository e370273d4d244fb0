"""The public face of nlu/: parse a message into an intent, a confidence and entities.

    engine = default_engine()
    result = engine.parse("số 0377 123 999 gọi xưng cô chủ nhiệm, có thật không")
    result.intent, result.confidence, result.entities

Everything runs in-process on the CPU; nothing is downloaded at run time.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from nlu import artefact
from nlu.entities import extract_entities
from nlu.features import views
from nlu.model import Hyper, IntentModel, ModelFormatError
from nlu.normalize import fold
from nlu.trainingdata import load_examples
from nlu.types import Entity, Parse

__all__ = [
    "DEFAULT_MODEL_PATH",
    "DEFAULT_TRAINING_FILE",
    "LOW_CONFIDENCE",
    "Entity",
    "NluEngine",
    "Parse",
    "default_engine",
    "evaluate",
    "extract_entities",
]

log = logging.getLogger(__name__)

DEFAULT_TRAINING_FILE = Path(__file__).resolve().parent / "data" / "nlu.yml"
DEFAULT_MODEL_PATH = Path("var") / "nlu" / "model.npz"

# Below this the dialogue asks a clarifying question (top choices as buttons) instead of guessing. On the
# held-out split about 2% of messages fall below it, and those above it are right about 97% of the time
# (bench/bench_nlu.py prints both figures). Messages made mostly of words never seen in training are pulled
# below it on purpose (see nlu.model.Hyper.full_coverage).
LOW_CONFIDENCE = 0.5


class NluEngine:
    """Intent classifier plus rule-based entity extraction. Thread-safe: parsing mutates nothing."""

    def __init__(self, model: IntentModel, *, trained_seconds: float | None = None) -> None:
        self._model = model
        self.trained_seconds = trained_seconds

    @property
    def fingerprint(self) -> dict[str, str] | None:
        """What the model was trained from (see :mod:`nlu.artefact`); None for files saved before it was kept."""
        return self._model.fingerprint

    @property
    def intents(self) -> tuple[str, ...]:
        """The intents this engine can predict, sorted."""
        return self._model.classes

    @classmethod
    def train(cls, path: Path = DEFAULT_TRAINING_FILE, *, hyper: Hyper | None = None) -> NluEngine:
        """Train on a Rasa-format NLU file (a few seconds on one CPU core)."""
        started = time.perf_counter()
        stamp = artefact.fingerprint(path)  # before reading: an edit during training leaves it stale, not wrong
        examples = load_examples(path)
        docs, labels, groups = [], [], []
        for i, e in enumerate(examples):
            docs.append(views(e.text, extract_entities(e.text)))
            labels.append(e.intent)
            groups.append(i)
            # Many parents type without diacritics: each line written with them is also learnt folded, so the
            # diacritic-aware view helps when they are typed without the model leaning on them.
            folded = fold(e.text)
            if folded != e.text.lower():
                docs.append(views(folded, extract_entities(folded)))
                labels.append(e.intent)
                groups.append(i)
        model = IntentModel.fit(docs, labels, hyper or Hyper(), groups)
        model.fingerprint = stamp.as_meta()
        return cls(model, trained_seconds=time.perf_counter() - started)

    def save(self, path: Path) -> None:
        """Write the trained model to ``path`` (atomically; parent folders are created)."""
        self._model.save(path)

    @classmethod
    def load(cls, path: Path) -> NluEngine:
        """Load a model saved by :meth:`save`; raises :class:`nlu.model.ModelFormatError` if it is not one."""
        return cls(IntentModel.load(path))

    def parse(self, text: str, *, now: datetime | None = None) -> Parse:
        """Intent ranking and entities for one message; ``now`` anchors relative dates ("hôm qua")."""
        entities = extract_entities(text, now)
        probs = self._model.predict(views(text, entities))
        order = probs.argsort()[::-1]
        ranking = tuple((self._model.classes[i], round(float(probs[i]), 4)) for i in order)
        return Parse(text, ranking[0][0], ranking[0][1], ranking, tuple(entities))


def default_engine(model_path: Path | None = None) -> NluEngine:
    """The first current model of ``model_path`` and the one shipped in the package, else one trained now.

    ``model_path`` (``nlu.model_path``, written by ``hotline nlu train``) counts when it is newer than the
    training data and was trained by this code (from the shipped data, or another file given to ``--data``).
    The shipped ``nlu/model/intent.npz`` counts when its fingerprint matches this code and data exactly, so a
    fresh install answers at once; training (seconds to minutes) happens only in a tree whose nlu/ was edited.
    """
    path = model_path or DEFAULT_MODEL_PATH
    try:
        if path.stat().st_mtime >= DEFAULT_TRAINING_FILE.stat().st_mtime:
            engine = NluEngine.load(path)
            recorded = engine.fingerprint
            if recorded and (artefact.matches(recorded) or artefact.matches(recorded, check_data=False)):
                return engine
            log.info("nlu model %s was trained by other code; not used", path)
        else:
            log.info("nlu model %s is older than %s; not used", path, DEFAULT_TRAINING_FILE.name)
    except FileNotFoundError:
        pass
    except ModelFormatError as exc:
        log.warning("nlu model not usable: %s", exc)
    try:
        shipped = NluEngine.load(artefact.ARTEFACT)
        if artefact.matches(shipped.fingerprint):
            return shipped
        log.warning("%s does not match nlu/ and its data; training now (rebuild it: %s)",
                    artefact.ARTEFACT, artefact.REBUILD)
    except (FileNotFoundError, ModelFormatError) as exc:
        log.warning("no shipped nlu model (%s); training now", exc)
    return NluEngine.train()


def evaluate(engine: NluEngine, path: Path, *, transform: Callable[[str], str] | None = None) -> dict[str, Any]:
    """Score ``engine`` on a Rasa-format file: accuracy, macro-F1, per-intent figures and confusions.

    ``transform`` rewrites each text first (the bench uses it to fold diacritics away).
    """
    examples = load_examples(path)
    gold = [e.intent for e in examples]
    parses = [engine.parse(transform(e.text) if transform else e.text) for e in examples]
    pred = [p.intent for p in parses]
    labels = sorted(set(gold) | set(pred))
    per_intent: dict[str, dict[str, float | int]] = {}
    for label in labels:
        tp = sum(1 for g, p in zip(gold, pred, strict=True) if g == p == label)
        n_pred, n_gold = pred.count(label), gold.count(label)
        precision = tp / n_pred if n_pred else 0.0
        recall = tp / n_gold if n_gold else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_intent[label] = {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
                             "support": n_gold}  # fmt: skip
    gold_labels = sorted(set(gold))
    confusions = Counter((g, p) for g, p in zip(gold, pred, strict=True) if g != p)
    confident = [g == p.intent for g, p in zip(gold, parses, strict=True) if p.confidence >= LOW_CONFIDENCE]
    return {
        "file": str(path),
        "examples": len(examples),
        "accuracy": round(sum(g == p for g, p in zip(gold, pred, strict=True)) / len(gold), 4),
        "macro_f1": round(sum(float(per_intent[g]["f1"]) for g in gold_labels) / len(gold_labels), 4),
        "low_confidence_rate": round(1 - len(confident) / len(parses), 4),
        "accuracy_when_confident": round(sum(confident) / len(confident), 4) if confident else None,
        "per_intent": per_intent,
        "confusions": [{"gold": g, "predicted": p, "count": n} for (g, p), n in confusions.most_common()],
        "errors": [
            {"text": e.text, "gold": e.intent, "predicted": p.intent, "confidence": p.confidence}
            for e, p in zip(examples, parses, strict=True)
            if e.intent != p.intent
        ],
    }
