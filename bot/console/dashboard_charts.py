"""Charts drawn on the server as inline SVG: no script, no CDN, no ``style`` attribute (the CSP forbids inline
styles), only classes that ``static/dashboard.css`` colours. Each chart carries a ``<title>`` and the page puts
the same numbers in a table beside it, for screen readers and for anyone who wants the exact figure.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

WIDTH = 720


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def columns(title: str, labels: Sequence[str], values: Sequence[float], *, every: int = 1,
            height: int = 180, css: str = "bar") -> Markup:
    """Vertical bars (one per day or week); every ``every``-th label is written under its bar."""
    count = max(len(values), 1)
    top = max([*values, 1])
    gap = 2 if count > 20 else 6
    bar = max((WIDTH - 40) / count - gap, 1.0)
    base = height - 24
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(title)}">',
             f"<title>{escape(title)}</title>",
             f'<line class="axis" x1="36" y1="{base}" x2="{WIDTH - 4}" y2="{base}"/>',
             f'<text class="tick" x="32" y="{base}" text-anchor="end">0</text>',
             f'<text class="tick" x="32" y="12" text-anchor="end">{escape(_num(top))}</text>']
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        x = 40 + i * (bar + gap)
        h = (base - 12) * value / top
        parts.append(f'<rect class="{css}" x="{_num(x)}" y="{_num(base - h)}" width="{_num(bar)}" '
                     f'height="{_num(h)}"><title>{escape(label)}: {escape(_num(value))}</title></rect>')
        if i % every == 0:
            parts.append(f'<text class="tick" x="{_num(x + bar / 2)}" y="{height - 8}" '
                         f'text-anchor="middle">{escape(label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every value above is escaped or a number we formatted


def bars(title: str, labels: Sequence[str], values: Sequence[float], *, css: str = "bar",
         second: Sequence[float] | None = None) -> Markup:
    """Horizontal bars, one row per category (a second series, e.g. last week, is drawn thinner under it)."""
    rows = max(len(values), 1)
    row_h = 30 if second is None else 36
    height = rows * row_h + 8
    top = max([*values, *(second or []), 1])
    label_w = 230
    span = WIDTH - label_w - 60
    parts = [f'<svg class="chart bars" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(title)}">',
             f"<title>{escape(title)}</title>"]
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = 4 + i * row_h
        w = span * value / top
        text = label if len(label) <= 34 else label[:33] + "…"
        parts.append(f'<text class="label" x="{label_w - 8}" y="{y + 17}" text-anchor="end">{escape(text)}</text>')
        parts.append(f'<rect class="{css}" x="{label_w}" y="{y + 4}" width="{_num(max(w, 1))}" height="18">'
                     f"<title>{escape(label)}: {escape(_num(value))}</title></rect>")
        parts.append(f'<text class="value" x="{_num(label_w + max(w, 1) + 6)}" y="{y + 18}">'
                     f"{escape(_num(value))}</text>")
        if second is not None:
            w2 = span * second[i] / top
            parts.append(f'<rect class="bar previous" x="{label_w}" y="{y + 24}" width="{_num(max(w2, 1))}" '
                         f'height="7"><title>{escape(label)}: {escape(_num(second[i]))}</title></rect>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - escaped above
