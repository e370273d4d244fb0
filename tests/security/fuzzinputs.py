"""Generators of hostile requests for :mod:`tests.security.fuzzkit` (issue 16, point 8).

:func:`requests_for` generates what an attacker or a careless integrator sends to one route: JSON with deep
nesting, NaN/Infinity, lone surrogates and huge numbers; plausible bodies for the chat API and the webhooks with
fields swapped for anything; forms and multipart bodies with the route's own field names (read from its handler)
and broken encodings; raw bytes under any content type; bodies past the size limit (declared or chunked);
hostile path and query values; signed-in sessions of each console role, forged and missing ones.
"""

from __future__ import annotations

import inspect
import json
import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_from_bytes

from hypothesis import strategies as st

from bot.channels.telegram.webhook import SECRET_HEADER
from bot.channels.zalo import signature
from bot.console.auth import COOKIE
from tests.conftest import REPO
from tests.harden.conftest import PNG

TELEGRAM_SECRET = "fuzz-secret-token"
ZALO_APP, ZALO_KEY = "4242", "fuzz-oa-secret"
MAX_BODY = 64 * 1024  # small, so bodies past the limit are cheap to generate
ROLES = {"admin": None, "supervisor": None, "officer": "CA-TT", "reporter": None}


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # the template, e.g. /console/tips/{reference}
    fields: tuple[str, ...] = ()  # the form fields / keys its handler reads (from its source)

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"


CSRF_MARK = b"__CSRF__"


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: str
    headers: tuple[tuple[str, str], ...]
    content: bytes
    role: str | None = None  # sign in as this console role (a fresh session), or not at all
    chunked: bool = False

    def with_csrf(self, csrf: str) -> Request:
        """The session's real form token where the body asked for it (so the handlers behind it are reached)."""
        return Request(self.method, self.path, self.query, self.headers,
                       self.content.replace(CSRF_MARK, csrf.encode()), self.role, self.chunked)


# ----- what the routes read ----------------------------------------------------------------------------------
def _field_names() -> list[str]:
    """Every form field and JSON key the code reads or the templates post: generated bodies use them, so the
    fuzzer gets past "missing field" into the handlers."""
    names: set[str] = set()
    sources = [*REPO.joinpath("bot").rglob("*.py"), *REPO.joinpath("bot").rglob("*.html")]
    for path in sources:
        text = path.read_text(encoding="utf-8", errors="replace")
        names |= set(re.findall(r"""(?:form|data|body|raw|fields|query_params|params|event|update|message)"""
                                r"""\.get(?:list)?\(\s*["']([A-Za-z_][A-Za-z0-9_]{0,40})["']""", text))
        names |= set(re.findall(r'name="([A-Za-z_][A-Za-z0-9_]{0,40})"', text))
    names |= {"user_id", "text", "payload", "message_id", "id", "locale", "phone", "url", "school", "claimed_role",
              "asked", "attachments", "file_name", "content_base64", "update_id", "message", "chat", "from",
              "callback_query", "data", "event_name", "sender", "recipient", "timestamp", "app_id", "csrf", "next",
              "status", "outcome", "note", "email", "password", "code", "role", "unit", "target", "value", "kind"}
    return sorted(names)


FIELDS = _field_names()
_READS = re.compile(r"""\.get(?:list)?\(\s*["']([A-Za-z_][A-Za-z0-9_]{0,40})["']""")


def handler_fields(handler: Any) -> tuple[str, ...]:
    """The names a route's handler reads from its form or body (so its own fields are generated most)."""
    try:
        source = inspect.getsource(handler)
    except (TypeError, OSError):
        return ()
    return tuple(sorted(set(_READS.findall(source)) - {"content-type", "origin"}))
texts = st.text(max_size=40)  # every code point, lone surrogates included
plain_texts = st.text(alphabet=st.characters(codec="utf-8"), max_size=40)
WORDS = ["báo cáo", "menu", "1", "hủy", "0377123999", "+84388000111", "TG-2026-000001", "sll-vnedu.top",
         "2026-11-20", "2026-13-45", "-1", "0", "99999999999999999999", "true", "null", "closed", "confirmed_scam",
         "admin", "officer", "CA-TT", "phone", "bank", "telco", "../../etc/passwd", "<script>x</script>", "%00",
         "a" * 3000, "💥", "\u202e", "\x00"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(min_value=2**63 - 2, max_value=2**70),
                    st.floats(), texts, st.sampled_from(WORDS))
json_values = st.recursive(
    scalars, lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.sampled_from(FIELDS) | texts, kids,
                                                                        max_size=5),
    max_leaves=12)


def _dump(value: Any) -> bytes:
    # ensure_ascii writes lone surrogates as \ud800 escapes and allow_nan writes NaN / Infinity: both on purpose.
    return json.dumps(value, ensure_ascii=True, allow_nan=True).encode()


@st.composite
def json_bodies(draw: st.DrawFn) -> bytes:
    top = draw(st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=8) | json_values)
    body = _dump(top)
    depth = draw(st.sampled_from([0, 0, 0, 2, 31, 33, 200, 1000, 5000]))
    if depth:
        opener, closer = draw(st.sampled_from([(b"[", b"]"), (b'{"a":', b"}"), (b'{"message":', b"}")]))
        body = opener * depth + body + closer * depth
    if draw(st.integers(0, 9)) == 9:  # a huge number, or a tail of garbage after the document
        body = body + draw(st.sampled_from([b" ", b"x", b"]", b"\x00", b"9" * 5000]))
    return body


def _pct(raw: bytes) -> str:
    return quote_from_bytes(raw, safe="")


values_as_bytes = st.one_of(plain_texts.map(lambda t: t.encode()), st.sampled_from([w.encode() for w in WORDS]),
                            st.sampled_from([w.encode() for w in WORDS]), st.binary(max_size=40))


def names_for(fields: tuple[str, ...]) -> st.SearchStrategy[str]:
    own = st.sampled_from(fields) if fields else st.sampled_from(FIELDS)
    return st.one_of(own, own, own, st.sampled_from(FIELDS), plain_texts)


@st.composite
def form_bodies(draw: st.DrawFn, fields: tuple[str, ...] = ()) -> bytes:
    pairs = draw(st.lists(st.tuples(names_for(fields), values_as_bytes), max_size=10))
    parts = [f"{_pct(k.encode())}={_pct(v)}" for k, v in pairs]
    if draw(st.integers(0, 9)) != 9:  # mostly with the session's form token, so the handler itself is reached
        parts.append("csrf=" + CSRF_MARK.decode())
    if draw(st.integers(0, 9)) == 9:
        parts.append(draw(st.sampled_from(["=", "&&", "%", "%zz", "a=%ff%fe", "a", "=x", "picks=phone%3A%2B84"])))
    return "&".join(draw(st.permutations(parts))).encode()


@st.composite
def multipart_bodies(draw: st.DrawFn, own: tuple[str, ...] = ()) -> tuple[bytes, str]:
    boundary = draw(st.sampled_from(["fuzzboundary", "x", "-" * 70]))
    out = b""
    named = st.tuples(names_for((*own, "file")), values_as_bytes, st.booleans())
    fields = draw(st.lists(named, max_size=6))
    if draw(st.integers(0, 9)) != 9:
        fields.append(("csrf", CSRF_MARK, False))
    for name, value, as_file in fields:
        disposition = f'form-data; name="{name}"'
        if as_file:
            disposition += f'; filename="{draw(st.sampled_from(["s.png", "a.apk", "../x", "", "ả.jpg"]))}"'
            value = draw(st.sampled_from([PNG, b"PK\x03\x04" + value, value, PNG[:20]]))
        kind = draw(st.sampled_from(["", "image/png", "application/octet-stream", "text/plain; charset=utf-8"]))
        head = f"--{boundary}\r\nContent-Disposition: {disposition}\r\n" + (f"Content-Type: {kind}\r\n" if kind else "")
        out += head.encode() + b"\r\n" + value + b"\r\n"
    if draw(st.integers(0, 4)) != 4:
        out += f"--{boundary}--\r\n".encode()  # else: the closing boundary is missing
    ctype = draw(st.sampled_from([f"multipart/form-data; boundary={boundary}", "multipart/form-data",
                                  "multipart/form-data; boundary=other",
                                  f'multipart/form-data; boundary="{boundary}"']))
    return out, ctype


CONTENT_TYPES = ["application/json", "application/json; charset=utf-8", "APPLICATION/JSON", "text/plain",
                 "application/x-www-form-urlencoded", "multipart/form-data", "application/octet-stream",
                 "application/xml", "application/json; charset=latin-1", "", "*/*",
                 "application/x-www-form-urlencoded; charset=utf-16"]


def zalo_event(body: dict[str, Any], now_ms: int) -> tuple[bytes, str]:
    """A Zalo event signed as Zalo signs it, so the fuzzer reaches what comes after the signature."""
    event = {"app_id": ZALO_APP, "timestamp": str(now_ms), **body}
    raw = _dump(event)
    return raw, signature.header_value(ZALO_APP, raw, event["timestamp"], ZALO_KEY)


PATH_VALUES = {
    "name": ["hotline.css", "chat.js", "console.css", "report", "main", "tips.csv", "x.pdf", "..%2F..%2Fetc",
             "%00", "a.b.c"],
}


@st.composite
def path_for(draw: st.DrawFn, template: str, references: list[str]) -> str:
    def value(match: re.Match[str]) -> str:
        name, kind = match.group(1), match.group(2)
        if kind == ":int":
            return str(draw(st.sampled_from([1, 2, 3, 0, 999_999, 2**63, 10**30])))
        if name == "reference":  # mostly a real tip, so the handlers behind the lookup are reached
            real = st.sampled_from(references)
            return draw(st.one_of(real, real, real, st.sampled_from([references[0].lower(), "TG-2099-999999"]),
                                  plain_texts.map(lambda t: _pct(t.encode()) or "x")))
        known = PATH_VALUES.get(name, ["1", "2", "0", "-1", "999999999999999999999"])
        return draw(st.sampled_from(known) | plain_texts.map(lambda t: _pct(t.encode()) or "x"))

    return re.sub(r"\{([a-z_]+)(:[a-z]+)?\}", value, template)


@st.composite
def queries(draw: st.DrawFn) -> str:
    names = [*FIELDS, "q", "page", "cursor", "lang", "since", "until", "sort", "cluster", "limit", "format", "days"]
    pairs = draw(st.lists(st.tuples(st.sampled_from(names), values_as_bytes), max_size=5))
    return "&".join(f"{_pct(k.encode())}={_pct(v)}" for k, v in pairs)


def _either(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(valid, valid, valid, json_values)


ids = st.text(alphabet="abcdef0123456789", min_size=8, max_size=16)
MESSAGE = st.fixed_dictionaries({}, optional={
    "user_id": _either(st.sampled_from(["fuzz-u1", "fuzz-u2", "fuzz-u3"])),
    "text": _either(texts | st.sampled_from(WORDS)),
    "payload": _either(st.sampled_from(["report", "call", "!skip", "!done", "!submit", "!edit:3", "menu", "yes"])),
    "message_id": _either(ids), "id": _either(ids), "type": _either(st.just("message")),
    "locale": _either(st.sampled_from(["vi", "en"])), "phone": _either(texts), "url": _either(texts),
    "school": _either(texts), "claimed_role": _either(st.sampled_from(["teacher", "principal", "x"])),
    "asked": _either(st.lists(st.sampled_from(["otp", "money_transfer", "bank_account", "x"]))),
    "attachments": _either(st.lists(st.fixed_dictionaries({"file_name": _either(texts),
                                                           "content_base64": _either(st.sampled_from(
                                                               ["iVBORw0KGgo=", "!!", ""]))}), max_size=2)),
    "start_param": _either(texts)})
TELEGRAM_UPDATE = st.fixed_dictionaries({"update_id": _either(st.integers(0, 2**31))}, optional={
    "message": _either(st.fixed_dictionaries({
        "message_id": _either(st.integers(0, 2**31)), "date": _either(st.integers(0, 2**31)),
        "chat": _either(st.fixed_dictionaries({"id": _either(st.integers(-(2**40), 2**40)),
                                               "type": _either(st.sampled_from(["private", "group"]))})),
        "from": _either(st.fixed_dictionaries({"id": _either(st.integers(0, 2**40)), "is_bot": st.booleans(),
                                               "first_name": _either(texts)})),
        "text": _either(texts | st.sampled_from(WORDS))})),
    "callback_query": _either(st.fixed_dictionaries({"id": _either(ids), "data": _either(texts),
                                                     "from": _either(st.fixed_dictionaries({"id": st.integers()}))}))})
ZALO_EVENT = st.fixed_dictionaries({
    "event_name": _either(st.sampled_from(["user_send_text", "user_send_image", "follow", "unfollow", "user_send_link",
                                           "user_received_message", "user_send_file", "x"])),
    "sender": _either(st.fixed_dictionaries({"id": _either(st.sampled_from(["7001", "7002"]))})),
    "recipient": _either(st.fixed_dictionaries({"id": _either(st.just("oa"))})),
    "message": _either(st.fixed_dictionaries({"msg_id": _either(ids), "text": _either(texts),
                                              "attachments": _either(st.lists(json_values, max_size=2))}))})


def plausible(path: str) -> st.SearchStrategy[Any]:
    """Bodies shaped like what the route expects, each field now and then something else."""
    if path == "/telegram/webhook":
        return TELEGRAM_UPDATE
    if path == "/webhooks/zalo":
        return ZALO_EVENT
    return MESSAGE


@st.composite
def requests_for(draw: st.DrawFn, endpoint: Endpoint, references: list[str]) -> Request:
    """One hostile request to ``endpoint``."""
    path = draw(path_for(endpoint.path, references))
    headers: dict[str, str] = {}
    role = None
    console = endpoint.path.startswith("/console")
    if console:  # hypothesis favours the first choices: the roles that reach most pages come first
        role = draw(st.sampled_from(["supervisor", "admin", "officer", "reporter", "supervisor", "admin", None]))
    if draw(st.integers(0, 5)) == 5:  # rare, and at the high end: hypothesis favours small numbers
        headers.update(draw(st.sampled_from([{"origin": "https://evil.example"}, {"origin": "null"},
                                             {"sec-fetch-site": "cross-site"}, {"origin": "http://hotline.test"},
                                             {"cookie": f"{COOKIE}=forged; hotline_chat=forged.sig"},
                                             {"x-forwarded-for": "1.2.3.4, ::1, junk"}, {"accept": "*/*"}])))
    content, ctype = b"", ""
    chunked = False
    if endpoint.method != "GET":
        kinds = ["form"] * 6 + ["multipart"] * 2 if console else ["json"] * 3 + ["plausible"] * 5
        kind = draw(st.sampled_from([*kinds, "json", "form", "multipart", "raw", "huge", "empty"]))
        if kind in ("json", "plausible"):
            content = draw(json_bodies()) if kind == "json" else _dump(draw(plausible(endpoint.path)))
            ctype = draw(st.sampled_from(CONTENT_TYPES)) if draw(st.integers(0, 4)) == 4 else "application/json"
        elif kind == "form":
            content, ctype = draw(form_bodies(endpoint.fields)), "application/x-www-form-urlencoded"
        elif kind == "multipart":
            content, ctype = draw(multipart_bodies(endpoint.fields))
        elif kind == "raw":
            content, ctype = draw(st.binary(max_size=600)), draw(st.sampled_from(CONTENT_TYPES))
        elif kind == "huge":
            content = draw(st.sampled_from([b"a", b"[", b'{"text":"', b"csrf=" + CSRF_MARK + b"&note="])) + (
                b"x" * (MAX_BODY + draw(st.integers(1, 2 * MAX_BODY))))
            ctype = draw(st.sampled_from(CONTENT_TYPES))
            chunked = draw(st.booleans())  # no Content-Length: the limit must hold on the bytes read
        if endpoint.path == "/webhooks/zalo" and kind == "plausible" and draw(st.integers(0, 5)) != 5:
            content, headers[signature.HEADER] = zalo_event(draw(ZALO_EVENT), int(time.time() * 1000))
            ctype = "application/json"
        if endpoint.path == "/telegram/webhook" and draw(st.integers(0, 5)) != 5:
            headers[SECRET_HEADER] = TELEGRAM_SECRET
    if ctype:
        headers["content-type"] = ctype
    query = draw(queries()) if draw(st.integers(0, 2)) == 2 or endpoint.method == "GET" else ""
    return Request(endpoint.method, path, query, tuple(headers.items()), content, role, chunked)
