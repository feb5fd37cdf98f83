"""PanePages: the window's tab pages, each pane's view built the first time it is wanted.

Building all twelve views before the first paint made the window appear later with every pane
added; most users look at two or three tabs. Each tab holds an empty page named after its pane
(``attentionPane``, …) from the start, so automation finds it, and the view is put on the page
when the tab is first shown or ``views[name]`` is first read. A view reads the state it is
built with (every view draws ``state.trace`` in its ``__init__``), so a late view shows the
same as an early one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from PySide6.QtWidgets import QTabWidget, QVBoxLayout, QWidget


class PanePages(Mapping):
    """Pane name -> its view; reading one builds it (and ``on_built(name, view)`` wires it)."""

    def __init__(self, state, tabs: QTabWidget, panes, on_built: Callable[[str, QWidget], None]):
        self._state, self._tabs, self._on_built = state, tabs, on_built
        self._panes = {pane.name: pane for pane in panes}
        self._pages: dict[str, QWidget] = {}
        self._views: dict[str, QWidget] = {}
        for pane in panes:
            page = QWidget(objectName=pane.object_name)
            QVBoxLayout(page).setContentsMargins(0, 0, 0, 0)
            index = tabs.addTab(page, pane.title)
            tabs.setTabToolTip(index, pane.tooltip)
            self._pages[pane.name] = page

    def is_built(self, name: str) -> bool:
        return name in self._views

    def __getitem__(self, name: str) -> QWidget:
        view = self._views.get(name)
        if view is None:
            pane = self._panes[name]  # KeyError for a name there is no pane for, as a dict
            view = self._views[name] = pane.widget(self._state)
            self._pages[name].layout().addWidget(view)
            view.show()  # now, not on Qt's next pass: the tab coming to the front draws it at once
            self._on_built(name, view)
        return view

    def __iter__(self) -> Iterator[str]:
        return iter(self._panes)

    def __len__(self) -> int:
        return len(self._panes)
