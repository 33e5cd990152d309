"""Server-rendered SVG charts: no script, a title and description for screen readers, and always a table beside
them on the page (the template's job) so that nobody has to read numbers off a picture."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

# Colours with at least 3:1 contrast against white (WCAG 1.4.11 for graphics), told apart by position and label too.
PALETTE = ("#1f5fa8", "#b34700", "#2e7d32", "#6a1b9a", "#ad1457", "#00695c", "#5d4037", "#37474f")


def _svg(chart_id: str, title: str, description: str, width: int, height: int, body: str) -> Markup:
    # Safe: every text piece went through escape(); ids and numbers come from this module.
    return Markup(  # noqa: S704
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" class="chart" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" preserveAspectRatio="xMinYMin meet">'
        f'<title id="{chart_id}-title">{escape(title)}</title><desc id="{chart_id}-desc">{escape(description)}</desc>'
        f"{body}</svg>"
    )


def bar_chart(
    chart_id: str,
    title: str,
    description: str,
    bars: Sequence[tuple[str, float]],
    *,
    highlight: str | None = None,
    maximum: float = 100.0,
    unit: str = "%",
) -> Markup:
    """Horizontal bars, one per (label, value), in the order given."""
    row, label_width, bar_width = 26, 190, 300
    height = max(row * len(bars) + 10, 40)
    parts = []
    for i, (label, value) in enumerate(bars):
        y = 5 + i * row
        length = 0.0 if maximum <= 0 else max(0.0, min(1.0, value / maximum)) * bar_width
        colour = PALETTE[1] if label == highlight else PALETTE[0]
        parts.append(
            f'<text x="{label_width - 6}" y="{y + 16}" text-anchor="end" font-size="13" fill="#1a1a1a">'
            f"{escape(label)}</text>"
            f'<rect x="{label_width}" y="{y + 3}" width="{length:.1f}" height="{row - 8}" fill="{colour}"/>'
            f'<text x="{label_width + length + 5:.1f}" y="{y + 16}" font-size="13" fill="#1a1a1a">'
            f"{value:g}{escape(unit)}</text>"
        )
    return _svg(chart_id, title, description, label_width + bar_width + 70, height, "".join(parts))


def line_chart(
    chart_id: str, title: str, description: str, x_labels: Sequence[str], series: Sequence[tuple[str, Sequence[int]]]
) -> Markup:
    """One line per (name, values), values aligned with ``x_labels``."""
    width, height, left, bottom, top, right = 560, 260, 40, 40, 10, 150
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max([1] + [v for _, values in series for v in values])
    steps = max(len(x_labels) - 1, 1)

    def x(i: int) -> float:
        return left + plot_w * i / steps

    def y(v: int) -> float:
        return top + plot_h * (1 - v / peak)

    parts = [
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#595959"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#595959"/>',
        f'<text x="{left - 4}" y="{top + 10}" text-anchor="end" font-size="11" fill="#1a1a1a">{peak}</text>',
        f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end" font-size="11" fill="#1a1a1a">0</text>',
    ]
    for i, label in enumerate(x_labels):
        parts.append(
            f'<text x="{x(i):.1f}" y="{height - bottom + 16}" text-anchor="middle" font-size="10" '
            f'fill="#1a1a1a">{escape(label)}</text>'
        )
    for n, (name, values) in enumerate(series):
        colour = PALETTE[n % len(PALETTE)]
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
        parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>')
        parts.append(
            f'<text x="{left + plot_w + 8}" y="{top + 14 + 16 * n}" font-size="12" fill="{colour}">'
            f"{escape(name)}</text>"
        )
    return _svg(chart_id, title, description, width, max(height, top + 20 + 16 * len(series)), "".join(parts))
