"""What a check is asked about, and the pure first step: reading numbers, links and requests out of it."""

from __future__ import annotations

from dataclasses import dataclass

from handlers.checks.codes import ASKED, ROLES
from handlers.checks.phones import PhoneInfo, find_phones, parse_phone
from handlers.checks.schools import NameKey, name_key
from handlers.checks.signals import asked_in_text
from handlers.checks.urls import UrlInfo, find_urls, parse_url

MAX_TEXT = 10_000  # a forwarded message, not a book: bounds the work one check can cause


class InvalidRequest(ValueError):
    """A field has a value the check does not know (unknown role or asked code, text too long)."""


@dataclass(frozen=True, slots=True)
class CheckRequest:
    """The same fields for the CLI, the HTTP API and the dialogue.

    ``school`` is free text matched forgivingly; ``school_id`` is used instead when the dialogue already
    matched it. ``extra_urls`` are further links the dialogue split off a pasted message.
    """

    phone: str | None = None
    url: str | None = None
    school: str | None = None
    school_id: str | None = None
    claimed_role: str | None = None
    asked: tuple[str, ...] = ()
    text: str | None = None
    extra_urls: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.claimed_role and self.claimed_role not in ROLES:
            raise InvalidRequest(
                f"claimed_role: unknown role {self.claimed_role!r}; expected one of {', '.join(ROLES)}"
            )
        unknown = [a for a in self.asked if a not in ASKED]
        if unknown:
            raise InvalidRequest(f"asked: unknown value {unknown[0]!r}; expected any of {', '.join(ASKED)}")
        if self.text and len(self.text) > MAX_TEXT:
            raise InvalidRequest(f"text: longer than {MAX_TEXT} characters")


@dataclass(frozen=True, slots=True)
class Analysis:
    """A request read without any data: the numbers, links and requests it contains."""

    phones: tuple[PhoneInfo, ...]
    urls: tuple[UrlInfo, ...]
    asked: frozenset[str]
    role: str | None
    school_text: str | None
    school_key: NameKey | None
    school_id: str | None

    @property
    def school_named(self) -> bool:
        return bool(self.school_id or self.school_text)


def _blank_links(text: str, links: list[tuple[int, int, str]]) -> str:
    out, pos = [], 0
    for start, end, _link in links:
        out.append(text[pos:start] + " " * (end - start))
        pos = end
    out.append(text[pos:])
    return "".join(out)


def analyse(request: CheckRequest) -> Analysis:
    """Every number and link to check (given ones first, then those found in ``text``) and what was asked."""
    text = request.text or ""
    links = find_urls(text) if text else []
    raw_phones = ([request.phone] if request.phone and request.phone.strip() else []) + (
        find_phones(_blank_links(text, links)) if text else []
    )
    phones: dict[str, PhoneInfo] = {}
    for raw in raw_phones:
        info = parse_phone(raw)
        phones.setdefault(info.e164 or raw.strip(), info)
    raw_urls = [u for u in (request.url, *request.extra_urls) if u and u.strip()]
    raw_urls += [link for _s, _e, link in links]
    urls: dict[tuple[str, ...], UrlInfo] = {}
    for raw in raw_urls:
        url = parse_url(raw)
        if url.valid:
            urls.setdefault((url.scheme or "", url.userinfo, url.host, url.path_query), url)
    school_text = request.school.strip() if request.school and request.school.strip() else None
    return Analysis(
        phones=tuple(phones.values()),
        urls=tuple(urls.values()),
        asked=frozenset(request.asked) | (asked_in_text(text, links) if text else frozenset()),
        role=request.claimed_role or None,
        school_text=school_text,
        school_key=name_key(school_text) if school_text else None,
        school_id=request.school_id or None,
    )
