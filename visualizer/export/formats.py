"""The one table of export formats: the GUI's dialogs and the CLI both read it. No Qt here."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Format:
    suffix: str  # "png"
    output: str  # "figure" or "data"
    description: str  # for file dialogs

    @property
    def dialog_filter(self) -> str:
        return f"{self.description} (*.{self.suffix})"


FORMATS = (
    Format("png", "figure", "PNG image"),
    Format("svg", "figure", "SVG vector drawing"),
    Format("pdf", "figure", "PDF document"),
    Format("npz", "data", "NumPy arrays with tokens and metadata"),
    Format("csv", "data", "CSV table with token headers"),
)
FIGURE_FORMATS = tuple(f.suffix for f in FORMATS if f.output == "figure")


def formats_for(output: str) -> tuple[Format, ...]:
    return tuple(f for f in FORMATS if f.output == output)


def format_of(path, output: str | None = None) -> Format:
    """The format a file name asks for (optionally only among figures or data).

    Raises ValueError naming the path and the formats that would work.
    """
    suffix = Path(path).suffix.lower().lstrip(".")
    allowed = formats_for(output) if output else FORMATS
    for fmt in allowed:
        if fmt.suffix == suffix:
            return fmt
    what = {"figure": "figure ", "data": "data "}.get(output or "", "")
    names = ", ".join("." + f.suffix for f in allowed)
    raise ValueError(f"{path}: unknown {what}format {Path(path).suffix or '(none)'!r}; use {names}")


def dialog_filters(output: str) -> str:
    """"PNG image (*.png);;SVG vector drawing (*.svg);;…" for a QFileDialog."""
    return ";;".join(f.dialog_filter for f in formats_for(output))
