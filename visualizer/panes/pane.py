"""Pane: one tab of the window, with how it makes its figure and its data from a ViewState.

Figures and data are made from the Qt-free state alone, never read off a widget, so the GUI's
File → Export and ``python main.py export --view NAME`` write the same file.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

SELECTORS = ("kind", "layer", "head")  # the selection bar's, in its order
KIND_ONLY = ("kind",)


@dataclass(frozen=True)
class Pane:
    """A registered pane.

    ``widget(app_state)`` builds its view; ``figure(state)`` returns a figure (``natural_size``,
    ``paint``, ``title``) and ``data(state)`` a ``DataTable``; either may be None when the pane
    has no such output, and either raises ValueError when the state gives it nothing to show.
    """

    name: str  # the CLI's --view NAME and ViewState.front_pane
    title: str  # the tab's text
    object_name: str  # the tab page's object name (ends in "Pane")
    tooltip: str
    widget: Callable
    figure: Callable | None = None
    data: Callable | None = None
    file_what: Callable | None = None  # state -> what a suggested file name says ("cross-L1-H0")
    # Which of the selection bar's selectors drive this pane; the bar turns the others off
    # while it is in front ("kind" alone: a map of every layer and head of the kind).
    selectors: tuple[str, ...] = SELECTORS
    shown_for: Callable | None = None  # model -> whether the pane applies (None: every model)

    @property
    def uses_selection(self) -> bool:
        return bool(self.selectors)

    def applies_to(self, model) -> bool:
        return model is None or self.shown_for is None or bool(self.shown_for(model))

    def file_stem(self, state) -> str:
        """A file name that says what is in it: translator-cross-L1-Hmean, …-encoder-all-heads."""
        what = self.file_what(state) if self.file_what else self.name
        return re.sub(r"[^\w.-]+", "-", f"{state.model_name()}-{what}").strip("-") or self.name


def selection_what(state) -> str:
    return f"{state.kind}-L{state.layer}-H{state.head}"
