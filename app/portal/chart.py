"""A small bar chart of daily counts as inline SVG: no script, no style attribute (the
portal's Content-Security-Policy allows neither), drawn with presentation attributes."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup

WIDTH = 150
HEIGHT = 36


def trend_chart(daily: Sequence[int]) -> Markup:
    """Bars for ``daily`` (oldest first), scaled to the busiest day; decorative (the page
    states the numbers in words), so hidden from screen readers."""
    top = max(daily, default=0) or 1
    step = WIDTH / max(len(daily), 1)
    bars = []
    for index, count in enumerate(daily):
        if not count:
            continue
        height = max(1.0, round(count / top * (HEIGHT - 2), 1))
        x = round(index * step, 1)
        bars.append(
            f'<rect x="{x}" y="{HEIGHT - 1 - height}" width="{round(step - 1, 1)}" '
            f'height="{height}" fill="#0b4f8a"></rect>'
        )
    baseline = f'<line x1="0" y1="{HEIGHT - 0.5}" x2="{WIDTH}" y2="{HEIGHT - 0.5}" stroke="#888">'
    svg = (
        f'<svg class="trend" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
        f'aria-hidden="true" focusable="false">{"".join(bars)}{baseline}</line></svg>'
    )
    return Markup(svg)  # noqa: S704 (numbers only: nothing from a caller)
