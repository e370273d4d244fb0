"""The one JSON reader for every request body and WebSocket frame we accept.

``json.loads`` alone is not safe on untrusted input here: deep nesting exhausts the interpreter's recursion
limit (a 4 kB body raised RecursionError), ``NaN``/``Infinity`` are accepted although they are not JSON and
cannot be written back out, and ``"\\ud800"`` decodes to a lone surrogate that later fails to encode (in
the database driver, the log, the reply). Everything that reads JSON from a client goes through
:func:`loads` and gets either a clean value or a :class:`BodyError` fit for the client.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 32  # our deepest real document (a message with attachments) is 3 levels
MAX_INT_DIGITS = 30  # ids and amounts; anything longer is garbage, and int() of 10^5 digits costs seconds

_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
JSON_TYPES = ("application/json", "text/json")


class BodyError(ValueError):
    """A body we refuse; ``code`` and ``status`` go into the error answer (see :mod:`bot.errors`)."""

    def __init__(self, message: str, *, code: str = "malformed_json", status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


def _depth(text: str) -> int:
    """Deepest bracket nesting outside strings, without recursion (the parser would recurse)."""
    brackets = _NOT_BRACKETS.sub("", _STRINGS.sub("", text))
    depth = deepest = 0
    for ch in brackets:
        if ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _no_constant(name: str) -> Any:
    raise BodyError(f"{name} is not a JSON number")


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise BodyError(f"number with more than {MAX_INT_DIGITS} digits")
    return int(text)


def _clean(value: Any) -> None:
    """Refuse lone surrogates anywhere (keys included); the depth is already bounded."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise BodyError("a string holds a lone UTF-16 surrogate (\\ud800-\\udfff)") from None
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def loads(raw: bytes | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """Decode one JSON document; raises :class:`BodyError` for anything but plain, finite, UTF-8 JSON."""
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise BodyError("body is not UTF-8") from None
    else:
        text = raw
    if _depth(text) > max_depth:
        raise BodyError(f"JSON nested deeper than {max_depth} levels")
    try:
        value = json.loads(text, parse_constant=_no_constant, parse_int=_int)
    except json.JSONDecodeError as exc:
        raise BodyError(f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:  # the pre-scan should make this unreachable; never a 500 if it is not
        raise BodyError(f"JSON nested deeper than {max_depth} levels") from None
    _clean(value)
    return value


def check_content_type(content_type: str | None) -> None:
    """A JSON endpoint takes JSON: a declared other type is refused (415), a missing one is allowed."""
    if not content_type:
        return
    media = content_type.split(";", 1)[0].strip().lower()
    if media in JSON_TYPES or (media.startswith("application/") and media.endswith("+json")):
        return
    raise BodyError(f"send Content-Type: application/json, not {media[:60]!r}", code="unsupported_media_type",
                    status=415)


async def read_json(request: Any) -> Any:
    """A request's JSON body (Starlette ``Request``): content type checked, then :func:`loads`."""
    check_content_type(request.headers.get("content-type"))
    return loads(await request.body())
