"""Camera snapshots as half-block characters: two pixels per cell, works over SSH and tmux.

Each cell is "▀" with the upper pixel as foreground and the lower as background,
so a 24x8-cell thumbnail shows 24x16 pixels with nothing but 24-bit colour
(terminals without it degrade to the nearest 256 colours). The colours are the
picture's own, which is why they are not theme variables.
"""

from __future__ import annotations

import io

from PIL import Image
from rich.color import Color
from rich.style import Style
from rich.text import Text

UPPER_HALF = "▀"


def half_blocks(jpeg: bytes, width: int, height: int) -> Text:
    """Render JPEG/PNG bytes into `width` x `height` cells (2*height pixel rows)."""
    with Image.open(io.BytesIO(jpeg)) as img:
        small = img.convert("RGB").resize((width, height * 2), Image.Resampling.BILINEAR)
    pixels = small.load()
    assert pixels is not None
    text = Text(no_wrap=True, overflow="crop")
    cache: dict[tuple[object, object], Style] = {}
    for row in range(height):
        for col in range(width):
            top = pixels[col, row * 2]
            bottom = pixels[col, row * 2 + 1]
            style = cache.get((top, bottom))
            if style is None:
                style = Style(color=Color.from_rgb(*top[:3]),  # type: ignore[index]
                              bgcolor=Color.from_rgb(*bottom[:3]))  # type: ignore[index]
                cache[(top, bottom)] = style
            text.append(UPPER_HALF, style)
        if row < height - 1:
            text.append("\n")
    return text
