"""URL helpers that never touch the network (the public suffix list is the one bundled with tldextract)."""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit

import tldextract


@lru_cache(maxsize=1)
def _extractor() -> tldextract.TLDExtract:
    # No suffix-list URLs and no cache dir: tldextract then uses the snapshot shipped in the package.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def host_of(url: str) -> str | None:
    """The host part, lowercased and without user-info or port; None if there is none."""
    candidate = url.strip()
    if "://" not in candidate:
        candidate = "http://" + candidate
    try:
        host = urlsplit(candidate).hostname
    except ValueError:
        return None
    return host.rstrip(".").lower() if host else None


def registrable_domain(url: str) -> str | None:
    """``https://a.b.vnedu.vn/x`` → ``vnedu.vn``; IP literals and bare hosts come back as the host."""
    host = host_of(url)
    if not host:
        return None
    ext = _extractor()(host)
    if ext.domain and ext.suffix:
        return f"{ext.domain}.{ext.suffix}"
    return host
