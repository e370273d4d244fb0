"""Per-deployment look (colour, title, logo) and the static files we serve ourselves.

The configured colour is an accent; whatever it is, text drawn on it or with it keeps WCAG AA contrast
(4.5:1), darkening the colour when needed, so a pale school colour cannot make the chat unreadable.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

from bot.settings import Settings

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
AA = 4.5
WHITE = "#ffffff"
INK = "#1a1a1a"

_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4


def luminance(color: str) -> float:
    r, g, b = (int(color[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def darken(color: str, factor: float) -> str:
    r, g, b = (int(int(color[i:i + 2], 16) * factor) for i in (1, 3, 5))
    return f"#{r:02x}{g:02x}{b:02x}"


def readable_on_white(color: str) -> str:
    """``color``, darkened just enough to reach AA against white (as a background for white text or as text)."""
    color = color.lower()
    factor = 1.0
    while contrast(darken(color, factor), WHITE) < AA:
        factor -= 0.05
    return darken(color, factor) if factor < 1.0 else color


@dataclass(frozen=True)
class Theme:
    title: str
    brand: str  # background of buttons, header and the parent's bubbles; white text on it meets AA
    logo_url: str | None  # same-origin path or None

    @classmethod
    def from_settings(cls, settings: Settings) -> Theme:
        wc = settings.webchat
        logo = wc.logo_url.strip() or None
        if logo is not None and (not logo.startswith("/") or logo.startswith("//")):
            # The CSP would block it anyway; say why the logo is missing instead of failing silently.
            log.warning("webchat.logo_url %r ignored: it must be a path on this server, e.g. /static/logo.png",
                        logo)
            logo = None
        return cls(title=wc.title, brand=readable_on_white(wc.color), logo_url=logo)

    def css(self) -> str:
        return f":root{{--brand:{self.brand};--on-brand:{WHITE};--ink:{INK}}}\n"

    def widget_config(self, lang_default: str) -> str:
        """The JSON object widget.js starts from (json.dumps escapes everything to ASCII)."""
        return json.dumps({"title": self.title, "brand": self.brand, "onBrand": WHITE, "lang": lang_default})


@dataclass(frozen=True)
class Asset:
    body: bytes
    media_type: str
    version: str  # content hash: pages link ``?v=<version>`` so a deploy never serves a stale mix

    @classmethod
    def of(cls, body: bytes, media_type: str) -> Asset:
        return cls(body, media_type, hashlib.sha256(body).hexdigest()[:12])


def load_static() -> dict[str, Asset]:
    """Every file in static/, read once when the router is built (a few kilobytes)."""
    return {p.name: Asset.of(p.read_bytes(), _TYPES[p.suffix]) for p in sorted(STATIC_DIR.iterdir())
            if p.suffix in _TYPES}
