"""Every console string written in Vietnamese in a template has its English (a missing one would show
Vietnamese to an English reader silently)."""

from __future__ import annotations

import re

from bot.console.templating import TEMPLATES_DIR, load_english

_LITERAL = re.compile(r"""_\(\s*(["'])(.*?)(?<!\\)\1""")


def test_every_template_string_has_its_english() -> None:
    english = load_english()
    missing = []
    for template in sorted(TEMPLATES_DIR.glob("*.html")):
        for match in _LITERAL.finditer(template.read_text(encoding="utf-8")):
            if match.group(2) not in english:
                missing.append(f"{template.name}: {match.group(2)}")
    assert missing == []
