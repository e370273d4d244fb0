"""The intent classifier: two linear models over TF-IDF n-grams, each temperature-calibrated, averaged.

Training uses scikit-learn; inference is a few dictionary look-ups and one small matrix product in numpy, so
a parse costs well under a millisecond and a saved model is plain arrays (``.npz``, no pickle): loading a
model file can never execute code.
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from nlu.features import ANALYZERS, Views

# 3: the word view carries negation marks and the harm cues of nlu.harm (issue 17); older files retrain.
FORMAT_VERSION = 3
FloatArray = npt.NDArray[np.float64]
_TOKEN = re.compile(r"\w+")


class ModelFormatError(ValueError):
    """A saved model file is missing, corrupt or from an incompatible version."""


class TrainingUnavailable(RuntimeError):
    """Training was needed but scikit-learn (the ``train`` extra) is not installed."""


@dataclass(frozen=True)
class Hyper:
    """Training knobs, chosen by repeated 5-fold cross-validation on nlu.yml (never on test.yml).

    Accuracy was flat (±0.3 points) for C between 5 and 50 and view weights between 0.5 and 1.2.
    """

    c_logreg: float = 10.0
    c_svm: float = 0.5
    view_weights: dict[str, float] = field(default_factory=lambda: {"word": 1.0, "char": 0.7, "tone": 0.6})
    # A message whose words the model has mostly never seen gets its confidence pulled towards uniform:
    # "haha" or "asdfgh" must trigger a clarifying question, not a confident "affirm".
    full_coverage: float = 0.5
    min_trust: float = 0.25
    folds: int = 3
    seed: int = 13


@dataclass(frozen=True)
class _Space:
    """One TF-IDF feature space: term → column, and each column's idf."""

    name: str
    vocab: dict[str, int]
    idf: FloatArray

    def vector(self, doc: str) -> tuple[list[int], FloatArray]:
        # Same arithmetic as TfidfVectorizer(sublinear_tf=True, norm="l2"): 1 + ln(tf), × idf, unit length.
        counts = Counter(g for g in ANALYZERS[self.name](doc) if g in self.vocab)
        if not counts:
            return [], np.zeros(0)
        idx = [self.vocab[g] for g in counts]
        vals = np.array([1.0 + math.log(n) for n in counts.values()]) * self.idf[idx]
        return idx, vals / float(np.linalg.norm(vals))


class IntentModel:
    """Predicts a probability for each intent from the :class:`~nlu.features.Views` of a message."""

    def __init__(
        self,
        classes: Sequence[str],
        spaces: Sequence[_Space],
        weights: Sequence[FloatArray],
        biases: Sequence[FloatArray],
        temperatures: Sequence[float],
        hyper: Hyper,
        fingerprint: dict[str, str] | None = None,
    ) -> None:
        self.classes = tuple(classes)
        self.hyper = hyper
        # What the model was trained from (nlu.artefact.Fingerprint.as_meta()); None for older files.
        self.fingerprint = fingerprint
        self._spaces = list(spaces)
        self._offsets = np.cumsum([0] + [len(s.vocab) for s in spaces[:-1]]).tolist()
        self._weights = [np.ascontiguousarray(w, dtype=np.float32) for w in weights]  # (features, classes)
        self._biases = [np.asarray(b, dtype=np.float64) for b in biases]
        self._temperatures = list(temperatures)
        self._known_words = next(s.vocab for s in spaces if s.name == "word")

    def predict(self, v: Views) -> FloatArray:
        """Probabilities over ``self.classes`` (they sum to 1)."""
        idx: list[int] = []
        vals: list[FloatArray] = []
        for space, offset in zip(self._spaces, self._offsets, strict=True):
            i, x = space.vector(v.of(space.name))
            idx.extend(offset + j for j in i)
            vals.append(x * self.hyper.view_weights[space.name])
        x_idx = np.array(idx, dtype=np.int64)
        x_val = np.concatenate(vals)
        probs = np.zeros(len(self.classes))
        for w, b, t in zip(self._weights, self._biases, self._temperatures, strict=True):
            probs += _softmax((x_val @ w[x_idx] + b) / t)
        probs /= len(self._weights)
        tokens = _TOKEN.findall(v.char)
        coverage = sum(t in self._known_words for t in tokens) / len(tokens) if tokens else 0.0
        # The floor keeps the model's ranking (the clarifying question offers its top choices) while still
        # pushing the confidence of an all-unknown message well below LOW_CONFIDENCE.
        trust = max(self.hyper.min_trust, min(1.0, coverage / self.hyper.full_coverage))
        return trust * probs + (1.0 - trust) / len(self.classes)

    # -- training -------------------------------------------------------------------------------------

    @classmethod
    def fit(
        cls, docs: Sequence[Views], labels: Sequence[str], hyper: Hyper, groups: Sequence[int] | None = None
    ) -> IntentModel:
        """Train both linear models and calibrate each with a temperature fitted on out-of-fold scores.

        ``groups`` ties augmented copies to their original line so a copy never sits in the training folds
        while its twin is scored (that would make the out-of-fold scores, and so the temperature, overconfident).
        """
        try:
            import scipy.sparse
            import sklearn.feature_extraction.text
            import sklearn.linear_model
            import sklearn.model_selection
            import sklearn.multiclass
            import sklearn.svm
            from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]  # no stubs; with sklearn
        except ImportError as exc:  # serving needs only numpy; training is the `train` extra
            raise TrainingUnavailable(
                f"training the intent model needs scikit-learn ({exc.name} is missing): "
                "pip install -c constraints.txt -e '.[train]'") from None

        del scipy, sklearn  # imported for their side effect: they load the BLAS/OpenMP pools limited below
        # These problems are far too small for BLAS threads to help; on a busy machine they made training
        # four times slower. threadpool_limits only reaches pools already loaded: imported inside it, scikit-learn
        # and scipy brought theirs unlimited, and training took 40 s of CPU instead of 4 (loaded 2-core machine).
        with threadpool_limits(limits=1):
            return cls._fit(docs, labels, hyper, groups)

    @classmethod
    def _fit(
        cls, docs: Sequence[Views], labels: Sequence[str], hyper: Hyper, groups: Sequence[int] | None
    ) -> IntentModel:
        from scipy.sparse import hstack
        from sklearn.feature_extraction.text import TfidfVectorizer

        spaces: list[_Space] = []
        blocks = []
        for name, weight in hyper.view_weights.items():
            vec = TfidfVectorizer(analyzer=ANALYZERS[name], sublinear_tf=True)
            blocks.append(vec.fit_transform([d.of(name) for d in docs]) * weight)
            spaces.append(_Space(name, {t: int(i) for t, i in vec.vocabulary_.items()}, vec.idf_.astype(np.float64)))
        x = hstack(blocks).tocsr()
        y = np.asarray(labels)
        classes = sorted(set(labels))
        weights, biases, temps = [], [], []
        for make in (_logreg(hyper), _svm(hyper)):
            model = make().fit(x, y)
            coef, intercept = _linear_parts(model)
            weights.append(coef.T)
            biases.append(intercept)
            temps.append(_fit_temperature(make, x, y, classes, hyper, groups))
        return cls(classes, spaces, weights, biases, temps, hyper)

    # -- persistence ----------------------------------------------------------------------------------

    def save(self, path: Path) -> None:
        """Write the model atomically as a compressed ``.npz`` of plain arrays."""
        meta = {
            "format": FORMAT_VERSION,
            "classes": list(self.classes),
            "spaces": [s.name for s in self._spaces],
            "temperatures": self._temperatures,
            "hyper": asdict(self.hyper),
            "fingerprint": self.fingerprint,
        }
        arrays: dict[str, Any] = {"meta": np.array(json.dumps(meta))}
        for s in self._spaces:
            arrays[f"terms_{s.name}"] = _terms(s.vocab)
            arrays[f"idf_{s.name}"] = s.idf
        for i, (w, b) in enumerate(zip(self._weights, self._biases, strict=True)):
            arrays[f"weights_{i}"] = w
            arrays[f"bias_{i}"] = b
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".nlu-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez_compressed(fh, **arrays)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: Path) -> IntentModel:
        """Read a model written by :meth:`save`; :class:`ModelFormatError` if it is not one."""
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                if meta.get("format") != FORMAT_VERSION:
                    raise ModelFormatError(f"{path}: model format {meta.get('format')}, need {FORMAT_VERSION}")
                spaces = [
                    _Space(n, _vocab(data[f"terms_{n}"]), data[f"idf_{n}"].astype(np.float64)) for n in meta["spaces"]
                ]
                n_models = len(meta["temperatures"])
                weights = [data[f"weights_{i}"] for i in range(n_models)]
                biases = [data[f"bias_{i}"] for i in range(n_models)]
        except ModelFormatError:
            raise
        except (OSError, EOFError, KeyError, ValueError, TypeError) as exc:
            raise ModelFormatError(f"{path}: not a Hotline NLU model ({exc})") from None
        return cls(meta["classes"], spaces, weights, biases, meta["temperatures"], Hyper(**meta["hyper"]),
                   meta.get("fingerprint"))


def _terms(vocab: dict[str, int]) -> npt.NDArray[np.str_]:
    terms = [""] * len(vocab)
    for term, i in vocab.items():
        terms[i] = term
    return np.array(terms, dtype=np.str_)


def _vocab(terms: npt.NDArray[np.str_]) -> dict[str, int]:
    return {str(t): i for i, t in enumerate(terms.tolist())}


def _linear_parts(model: Any) -> tuple[FloatArray, FloatArray]:
    """(classes × features) weights and per-class intercepts of a fitted linear classifier."""
    if hasattr(model, "estimators_"):  # one-vs-rest wrapper
        coef = np.vstack([np.asarray(e.coef_, dtype=np.float64) for e in model.estimators_])
        intercept = np.concatenate([np.atleast_1d(np.asarray(e.intercept_, np.float64)) for e in model.estimators_])
        return coef, intercept
    return np.asarray(model.coef_, dtype=np.float64), np.asarray(model.intercept_, dtype=np.float64)


def _softmax(z: FloatArray) -> FloatArray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return np.asarray(e / e.sum(axis=-1, keepdims=True), dtype=np.float64)


def _logreg(hyper: Hyper) -> Callable[[], Any]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    # One-vs-rest liblinear: far faster here than multinomial L-BFGS over a quarter-million weights, and the
    # temperature fitted afterwards turns its scores into probabilities just as well.
    return lambda: OneVsRestClassifier(LogisticRegression(C=hyper.c_logreg, solver="liblinear", random_state=0))


def _svm(hyper: Hyper) -> Callable[[], Any]:
    from sklearn.svm import LinearSVC

    return lambda: LinearSVC(C=hyper.c_svm, random_state=0)


def _fit_temperature(
    make: Callable[[], Any],
    x: Any,
    y: npt.NDArray[Any],
    classes: list[str],
    hyper: Hyper,
    groups: Sequence[int] | None,
) -> float:
    """The temperature that minimises out-of-fold negative log-likelihood (Guo et al., 2017)."""
    from sklearn.model_selection import StratifiedGroupKFold

    scores = np.zeros((len(y), len(classes)))
    folds = StratifiedGroupKFold(n_splits=hyper.folds, shuffle=True, random_state=hyper.seed)
    for train, held in folds.split(x, y, groups if groups is not None else np.arange(len(y))):
        model = make().fit(x[train], y[train])
        # A fold may lack a rare class; its column keeps a very low score.
        cols = [classes.index(c) for c in model.classes_]
        fold_scores = np.full((len(held), len(classes)), -1e3)
        fold_scores[:, cols] = model.decision_function(x[held])
        scores[held] = fold_scores
    gold = np.array([classes.index(v) for v in y])
    best_t, best_nll = 1.0, math.inf
    for t in np.exp(np.linspace(math.log(0.02), math.log(20.0), 160)):
        p = _softmax(scores / t)[np.arange(len(gold)), gold]
        nll = float(-np.log(np.clip(p, 1e-12, None)).mean())
        if nll < best_nll:
            best_t, best_nll = float(t), nll
    return best_t
