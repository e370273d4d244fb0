"""Links: parse the way a browser would, find the registrable domain, and find links in free text.

Nothing here touches the network. The public suffix list is the snapshot bundled with ``tldextract``:
no download (``suffix_list_urls=()``) and no cache directory (``cache_dir=None``).
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import unquote, urlsplit

import tldextract

_SCHEME = re.compile(r"^[a-z][a-z0-9+.\-]*://", re.IGNORECASE)
# Ideographic and full-width full stops are dots to IDNA (and to browsers).
_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})
_IPV4ISH = re.compile(r"^(?:0x[0-9a-f]*|\d+)$")
_APK = re.compile(r"\.apk(?![a-z0-9])")

# A link as people paste it: with or without scheme, optional user-info, a dotted host whose last label
# starts with a letter (so "0912.000.111" and "500.000đ" are not links), or a dotted IPv4 address.
URL_IN_TEXT = re.compile(
    r"(?i)((?:https?://)?(?:[^\s/@:<>\"']+(?::[^\s/@<>\"']*)?@)?"
    r"(?:(?:[\w-]+[.\u3002\uff0e])+[a-z\u00a1-\uffff][\w-]{1,62}|\d{1,3}(?:\.\d{1,3}){3})"
    r"(?::\d{2,5})?(?:[/?#\\][^\s<>\"']*)?)"
)


@lru_cache(maxsize=1)
def _extractor() -> tldextract.TLDExtract:
    # Private suffixes (blogspot.com, web.app) count as public, so "evil.web.app" is its own registrable
    # domain: blocklisting or reporting one Firebase site must not tar every other.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True)


@dataclass(frozen=True, slots=True)
class UrlInfo:
    """One link, parsed without opening it."""

    raw: str
    scheme: str | None  # lowercased as written; None when the link had no scheme
    host: str  # ASCII (punycode) lowercase, no trailing dot; "" when there is none
    host_unicode: str  # the same host as people read it, for folding and display
    userinfo: str  # whatever came before "@" in the authority ("" if nothing)
    path_query: str
    registrable: str  # ASCII registrable domain via the public suffix list; "" for IPs / unknown suffixes
    suffix: str
    is_ip: bool

    @property
    def valid(self) -> bool:
        return bool(self.host) and (self.is_ip or "." in self.host)


def _to_ascii(host: str) -> str | None:
    labels = []
    for label in host.split("."):
        if not label:
            return None
        try:
            labels.append(label.encode("idna").decode("ascii"))
        except UnicodeError:
            return None
    return ".".join(labels)


def to_unicode(host: str) -> str:
    """Decode punycode labels for reading (``xn--vndu-u2d.vn`` → ``vnеdu.vn``); bad labels stay as they are."""
    labels = []
    for label in host.split("."):
        if label.startswith("xn--"):
            with contextlib.suppress(UnicodeError):
                label = label.encode("ascii").decode("idna")
        labels.append(label)
    return ".".join(labels)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        # Browsers read a host whose last label is a number as IPv4: 3232235777, 0xC0A80001, 192.168.1.
        return bool(_IPV4ISH.match(host.rsplit(".", 1)[-1]))
    return True


def parse_url(raw: str) -> UrlInfo:
    """Parse ``raw`` as a browser would; the scheme is optional. Invalid input gives ``host == ""``."""
    text = unicodedata.normalize("NFKC", raw.strip().strip("<>\"'")).translate(_DOTS)
    # Browsers treat "\" as "/" in http(s) URLs: "https://evil.site\@vnedu.vn" goes to evil.site.
    text = text.replace("\\", "/")
    scheme: str | None = None
    match = _SCHEME.match(text)
    if match:
        scheme = match.group(0)[:-3].lower()
    elif text.startswith("//"):
        text = "http:" + text
    else:
        text = "http://" + text
    try:
        parts = urlsplit(text)
        hostname = parts.hostname or ""
    except ValueError:
        return UrlInfo(raw, scheme, "", "", "", "", "", "", False)
    userinfo = parts.netloc.rpartition("@")[0]
    hostname = hostname.rstrip(".")
    path_query = parts.path + ("?" + parts.query if parts.query else "")
    if not hostname:
        return UrlInfo(raw, scheme, "", "", userinfo, path_query, "", "", False)
    if _is_ip(hostname):
        return UrlInfo(raw, scheme, hostname, hostname, userinfo, path_query, "", "", True)
    host = _to_ascii(hostname)
    if host is None:
        return UrlInfo(raw, scheme, "", hostname, userinfo, path_query, "", "", False)
    ext = _extractor()(host)
    return UrlInfo(
        raw, scheme, host, to_unicode(host), userinfo, path_query, ext.top_domain_under_public_suffix, ext.suffix,
        False,
    )


def normalize_domain(value: str) -> str | None:
    """The form domains are stored and compared in: ASCII, lowercase, no ``www.``. Accepts a whole URL."""
    info = parse_url(value)
    if not info.valid:
        return None
    host = info.host
    if host.startswith("www.") and host.count(".") >= 2:
        host = host[4:]
    return host


def registrable_domain(value: str) -> str | None:
    """The registrable domain (``hocba.vnedu.vn`` → ``vnedu.vn``) of a host or URL, ASCII lowercase.

    This is the form ``tip_indicators`` stores for domains, so report counts line up with checks.
    IP addresses are their own "domain"; a host with no known public suffix gives None.
    """
    info = parse_url(value)
    if info.is_ip:
        return info.host
    return info.registrable or None


def parent_domains(info: UrlInfo) -> list[str]:
    """The host and each parent down to the registrable domain (never a bare public suffix)."""
    if not info.host:
        return []
    if info.is_ip:
        return [info.host]
    labels = info.host.split(".")
    floor = info.registrable.count(".") + 1 if info.registrable else 2
    return [".".join(labels[i:]) for i in range(len(labels) - floor + 1)]


def host_matches(host: str, domains: frozenset[str]) -> bool:
    """``host`` is one of ``domains`` or a subdomain of one."""
    labels = host.split(".")
    return any(".".join(labels[i:]) in domains for i in range(len(labels)))


def names_apk(info: UrlInfo) -> bool:
    """The path or query names an Android package (``.apk``, any case, even percent-encoded)."""
    text = info.path_query.lower()
    return bool(_APK.search(text) or _APK.search(unquote(unquote(text))))


def find_urls(text: str) -> list[tuple[int, int, str]]:
    """Links in free text as ``(start, end, link)``, trailing punctuation trimmed.

    A dotted word whose ending is not a real public suffix ("Mr.Lan", "SoLienLac.apk") is not taken for
    a link unless it was written with a scheme, nor is an e-mail address.
    """
    found = []
    for m in URL_IN_TEXT.finditer(text):
        link = m.group(1).rstrip(".,;:!?)]}")
        info = parse_url(link)
        if not info.valid:
            continue
        if not (info.registrable or info.is_ip or _SCHEME.match(link)):
            continue
        if info.userinfo and not _SCHEME.match(link) and not _extractor()(info.userinfo).top_domain_under_public_suffix:
            continue  # an e-mail address (lienhe@truong.edu.vn), not a link; "vnedu.vn@evil.site" is kept
        found.append((m.start(1), m.start(1) + len(link), link))
    return found
