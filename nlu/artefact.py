"""The trained intent model shipped inside the package, and how to tell whether a saved model is current.

Training takes seconds on a quiet machine and minutes on a loaded one, so a fresh install must not train before
it answers: ``nlu/model/intent.npz`` is built from ``nlu/data/nlu.yml`` and committed with the code
(``hotline nlu train --out nlu/model/intent.npz``). Every saved model records a fingerprint of what made it —
the training file and the nlu/ sources that shape features and training — and a model whose fingerprint does
not match the code it runs with is never used: it would score features it was not trained on. A test
(tests/perf/test_nlu_artefact.py) retrains from the data and checks the shipped model gives the same predictions.
"""

from __future__ import annotations

import ast
import hashlib
from dataclasses import dataclass
from pathlib import Path

NLU_DIR = Path(__file__).resolve().parent
ARTEFACT = NLU_DIR / "model" / "intent.npz"
TRAINING_FILE = NLU_DIR / "data" / "nlu.yml"
REBUILD = "hotline nlu train --out nlu/model/intent.npz"

# Modules that neither extract features nor train: editing them must not make the shipped model stale.
_NOT_FEATURES = frozenset({"__init__.py", "artefact.py", "backend.py", "rasa_backend.py"})


@dataclass(frozen=True)
class Fingerprint:
    """What a model was trained from: ``raw`` hashes the bytes (cheap), ``code`` the sources' syntax trees
    without comments or docstrings (so a reworded comment does not force a retrain), ``data`` the training file.
    """

    raw: str
    code: str
    data: str

    def as_meta(self) -> dict[str, str]:
        """The form stored in a model file's metadata."""
        return {"raw": self.raw, "code": self.code, "data": self.data}


def _sources() -> list[Path]:
    return sorted(p for p in NLU_DIR.glob("*.py") if p.name not in _NOT_FEATURES)


def _digest(parts: list[bytes]) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return h.hexdigest()


def _syntax(source: str) -> bytes:
    tree = ast.parse(source)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(body, list) and body and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]  # type: ignore[attr-defined]
    return ast.dump(tree, include_attributes=False).encode()


def raw_digest(data_file: Path = TRAINING_FILE) -> str:
    """sha256 over the training file and the feature sources' bytes (about a millisecond)."""
    return _digest([data_file.read_bytes(), *(p.name.encode() + p.read_bytes() for p in _sources())])


def fingerprint(data_file: Path = TRAINING_FILE) -> Fingerprint:
    """The full fingerprint of a model trained now from ``data_file`` with this code."""
    code = _digest([p.name.encode() + _syntax(p.read_text(encoding="utf-8")) for p in _sources()])
    return Fingerprint(raw=raw_digest(data_file), code=code,
                       data=hashlib.sha256(data_file.read_bytes()).hexdigest())


def matches(recorded: dict[str, str] | None, *, data_file: Path = TRAINING_FILE, check_data: bool = True) -> bool:
    """Does a model that recorded ``recorded`` fit this code (and, with ``check_data``, this training file)?

    The byte digest decides in the common case; only when it differs are the syntax trees compared.
    """
    if not recorded:
        return False
    if check_data and recorded.get("raw") == raw_digest(data_file):
        return True
    now = fingerprint(data_file)
    return recorded.get("code") == now.code and (not check_data or recorded.get("data") == now.data)
