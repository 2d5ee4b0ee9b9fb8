"""Charts drawn by the server as inline SVG: no JavaScript, no external service,
so the report opens offline and prints as it looks on screen."""

from __future__ import annotations

from html import escape

BAR = "#2f6db5"
FONT = 'font-family="sans-serif" font-size="11"'


def bars(items: list[tuple[str, float]], *, width: int = 640, limit: int = 12,
         label_width: int = 200) -> str:
    """Horizontal bars, largest first, at most `limit` of them."""
    items = items[:limit]
    if not items:
        return ""
    row = 20
    height = row * len(items) + 10
    top = max(v for _, v in items) or 1
    span = width - label_width - 60
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'role="img" {FONT}>']
    for i, (label, value) in enumerate(items):
        y = 5 + i * row
        w = max(1.0, span * value / top) if value else 0
        parts.append(f'<text x="{label_width - 6}" y="{y + 13}" text-anchor="end">'
                     f'{escape(label[:34])}</text>')
        parts.append(f'<rect x="{label_width}" y="{y + 2}" width="{w:.1f}" height="{row - 6}" '
                     f'fill="{BAR}"><title>{escape(label)}: {value:g}</title></rect>')
        parts.append(f'<text x="{label_width + w + 4:.1f}" y="{y + 13}">{value:g}</text>')
    parts.append("</svg>")
    return "".join(parts)


def columns(items: list[tuple[str, float]], *, width: int = 640, height: int = 160) -> str:
    """Vertical columns in order (a trend); labels thinned so they stay readable."""
    if not items:
        return ""
    base, left = height - 24, 30
    step = (width - left - 10) / len(items)
    top = max(v for _, v in items) or 1
    every = max(1, len(items) // 12)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'role="img" {FONT}>',
             f'<text x="2" y="12">{top:g}</text>',
             f'<line x1="{left}" y1="{base}" x2="{width - 10}" y2="{base}" stroke="#999"/>']
    for i, (label, value) in enumerate(items):
        h = (base - 16) * value / top
        x = left + i * step
        parts.append(f'<rect x="{x + 1:.1f}" y="{base - h:.1f}" width="{max(step - 2, 1):.1f}" '
                     f'height="{h:.1f}" fill="{BAR}"><title>{escape(label)}: {value:g}</title>'
                     f'</rect>')
        if i % every == 0:
            parts.append(f'<text x="{x + step / 2:.1f}" y="{height - 8}" '
                         f'text-anchor="middle">{escape(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def heatmap(matrix: list[list[int]], row_labels: tuple[str, ...] | list[str]) -> str:
    """Weekday x hour counts; darker is busier, the count in each cell's tooltip."""
    cell, left, top_pad = 22, 40, 16
    width, height = left + 24 * cell + 4, top_pad + len(matrix) * cell + 4
    peak = max((v for r in matrix for v in r), default=0) or 1
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'role="img" {FONT}>']
    for h in range(0, 24, 3):
        parts.append(f'<text x="{left + h * cell + cell / 2}" y="12" '
                     f'text-anchor="middle">{h:02d}</text>')
    for d, counts in enumerate(matrix):
        y = top_pad + d * cell
        parts.append(f'<text x="{left - 6}" y="{y + 15}" text-anchor="end">'
                     f'{escape(row_labels[d])}</text>')
        for h, v in enumerate(counts):
            shade = int(245 - 200 * v / peak)  # white-ish (quiet) to deep blue (busy)
            parts.append(f'<rect x="{left + h * cell}" y="{y}" width="{cell - 2}" '
                         f'height="{cell - 2}" fill="rgb({shade},{shade},255)">'
                         f'<title>{escape(row_labels[d])} {h:02d}: {v}</title></rect>')
    parts.append("</svg>")
    return "".join(parts)
