"""The official apps an APK is compared with (handlers/evidence/data/official_apps.yaml, editable)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from handlers import yamlio
from nlu.normalize import fold


@dataclass(frozen=True, slots=True)
class OfficialApp:
    id: str
    label: str
    names: tuple[tuple[str, ...], ...]  # each name as folded words
    packages: frozenset[str]
    certificates: frozenset[str]  # lower-case hex, no colons


@dataclass(frozen=True, slots=True)
class AppMatch:
    """How an APK relates to the official apps. ``kind``: official | unverified | imitates | unknown."""

    kind: str
    app: OfficialApp | None = None
    why: str = ""  # imitates: "label" | "package" | "certificate" | "file_name"


def words(text: str, *, camel: bool = False) -> list[str]:
    """Folded words: "Sổ Liên Lạc-Điện tử" → so, lien, lac, dien, tu (``camel``: "SoLienLac" → so, lien, lac)."""
    if camel:
        text = re.sub(r"(?<=[a-zà-ỹ])(?=[A-ZÀ-Ỹ])", " ", text)
    return re.findall(r"[a-z0-9]+", fold(text))


def _fingerprint(value: str) -> str:
    return re.sub(r"[^0-9a-f]", "", value.lower())


def parse_apps(raw: Any) -> tuple[OfficialApp, ...]:
    apps = []
    for item in (raw or {}).get("apps") or []:
        apps.append(OfficialApp(
            id=str(item["id"]), label=str(item.get("label") or item["id"]),
            names=tuple(tuple(words(str(n))) for n in item.get("names") or () if words(str(n))),
            packages=frozenset(str(p).strip() for p in item.get("packages") or ()),
            certificates=frozenset(_fingerprint(str(c)) for c in item.get("certificates") or ()),
        ))
    return tuple(apps)


@cache
def _shipped() -> tuple[OfficialApp, ...]:
    text = resources.files("handlers.evidence").joinpath("data", "official_apps.yaml").read_text("utf-8")
    return parse_apps(yamlio.safe_load(text))


def load_apps(path: str | None = None) -> tuple[OfficialApp, ...]:
    """The shipped list, or the province's own file when ``evidence.official_apps`` names one."""
    if not path:
        return _shipped()
    return parse_apps(yamlio.safe_load(Path(path).read_text("utf-8")))


def _borrows(text: str | None, app: OfficialApp) -> bool:
    """Whether ``text`` names the app: its words in a row, or its name run together as one word ("vnedu2").

    Whole words only, so "Christmas" never borrows "smas" and "chemistry" never borrows "emis".
    """
    if not text:
        return False
    for tokens in (words(text), words(text, camel=True)):
        for name in app.names:
            n = len(name)
            if any(tokens[i:i + n] == list(name) for i in range(len(tokens) - n + 1)):
                return True
            joined = re.escape("".join(name))
            if any(re.fullmatch(rf"{joined}(?:v?\d+)?", t) for t in tokens):
                return True
    return False


def match_apk(apk: dict[str, Any], apps: tuple[OfficialApp, ...]) -> AppMatch:
    """Official only when both the package and the signing certificate are an official app's."""
    package = apk.get("package") or ""
    cert = _fingerprint(apk.get("certificate_sha256") or "")
    for app in apps:
        if package and package in app.packages:
            if app.certificates and cert in app.certificates:
                return AppMatch("official", app)
            if app.certificates:
                return AppMatch("imitates", app, "certificate")  # right name, someone else's key: a repack
            return AppMatch("unverified", app)
    for app in apps:
        for why, text in (("label", apk.get("label")), ("package", package.replace(".", " ")),
                          ("file_name", apk.get("file_name"))):
            if _borrows(text, app):
                return AppMatch("imitates", app, why)
    return AppMatch("unknown")


def link_imitates(file_name: str, apps: tuple[OfficialApp, ...]) -> OfficialApp | None:
    """The official app whose name an ``.apk`` link's file name borrows ("vnEdu_v2.apk"), if any."""
    return next((app for app in apps if _borrows(file_name, app)), None)
