"""Token tick labels for pyqtgraph axes, thinned so long sequences never overlap."""

from __future__ import annotations

import math

MAX_LABEL_CHARS = 12  # longer tokens are shortened with an ellipsis; the tooltip shows them whole


def short_label(token: str) -> str:
    """A token as an axis shows it: visible whitespace markers, at most MAX_LABEL_CHARS."""
    text = token.replace("\n", "\\n") or "∅"
    return text if len(text) <= MAX_LABEL_CHARS else text[: MAX_LABEL_CHARS - 1] + "…"


def label_step(count: int, max_labels: int) -> int:
    """Show every step-th label so that at most ``max_labels`` remain (1 = all of them)."""
    if count <= 0 or max_labels <= 0:
        return 1
    return max(1, math.ceil(count / max_labels))


def token_ticks(tokens: list[str], max_labels: int = 64, offset: float = 0.5, spacing: float = 1.0):
    """pyqtgraph ``setTicks`` data: tick i sits at ``offset + i * spacing`` (pixel centres).

    Every label is kept when it fits; otherwise every k-th one, so a 512-token axis stays readable.
    """
    step = label_step(len(tokens), max_labels)
    major = [(offset + i * spacing, short_label(tokens[i])) for i in range(0, len(tokens), step)]
    return [major, []]


def labels_that_fit(axis_pixels: float, font_pixels: float = 14.0) -> int:
    """How many labels an axis of ``axis_pixels`` can show with one line of text each."""
    return max(2, int(axis_pixels // max(font_pixels, 1.0)))
