"""JSON Schemas placed by hand into the OpenAPI document, with every reference resolved.

A pydantic schema keeps nested models under ``$defs`` and points at them with ``#/$defs/Name``; pasted
into an operation's ``requestBody`` that pointer resolves against the OpenAPI document's root, where no
``$defs`` exists (``#/$defs/UploadIn`` was unresolvable). Inlining the definitions keeps the document valid.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

_PREFIX = "#/$defs/"


def _resolve(node: Any, defs: dict[str, Any], depth: int = 0) -> Any:
    if depth > 16:
        raise ValueError("schema nests too deeply to inline (recursive model?)")
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(_PREFIX):
            target = _resolve(defs[ref[len(_PREFIX):]], defs, depth + 1)
            extra = {k: _resolve(v, defs, depth + 1) for k, v in node.items() if k != "$ref"}
            return {**target, **extra}
        return {k: _resolve(v, defs, depth + 1) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_resolve(v, defs, depth + 1) for v in node]
    return node


def inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema()
    resolved: dict[str, Any] = _resolve(schema, dict(schema.get("$defs", {})))
    return resolved
