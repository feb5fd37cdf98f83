"""The Help menu: the keyboard shortcuts and an About box."""

from __future__ import annotations

import html

from PySide6.QtWidgets import QMessageBox

SHORTCUTS = (  # (keys, what they do)
    ("Ctrl+Enter", "Run the model on the text (Enter in a text box does too)"),
    ("← / →", "Previous / next head, then mean and max of heads (click a heatmap first)"),
    ("↑ / ↓", "Previous / next layer"),
    ("Mouse wheel", "Zoom the heatmap; drag to pan"),
    ("Ctrl+O", "Open a checkpoint"),
    ("Ctrl+E", "Export the plot of the pane in front"),
    ("Ctrl+Q", "Quit"),
)
ABOUT = ("<b>Transformer Inspector</b><p>See inside Transformer models, offline: every head of "
         "encoder self-attention, decoder masked self-attention and cross-attention, the residual "
         "stream and every LayerNorm's internals, with figures and data ready for a paper.</p>"
         "<p>Open a native checkpoint, a PyTorch file or a Hugging Face folder; nothing read from "
         "a file is ever executed.</p>")


def shortcuts_html() -> str:
    rows = "".join(f"<tr><td><b>{html.escape(keys)}</b>&nbsp;&nbsp;</td><td>{html.escape(what)}</td></tr>"
                   for keys, what in SHORTCUTS)
    return f"<table>{rows}</table>"


def add_help_menu(window) -> None:
    """Help → Keyboard shortcuts…, About Transformer Inspector…"""
    menu = window.menuBar().addMenu("&Help")
    shortcuts = menu.addAction("&Keyboard shortcuts…", lambda: _show(window, "Keyboard shortcuts",
                                                                      shortcuts_html(), "shortcutsBox"))
    shortcuts.setObjectName("shortcutsAction")
    about = menu.addAction("&About Transformer Inspector…", lambda: _show(window, "About", ABOUT, "aboutBox"))
    about.setObjectName("aboutAction")
    window.help_menu = menu


def _show(window, title: str, text: str, name: str) -> QMessageBox:
    box = QMessageBox(QMessageBox.Icon.Information, title, text, QMessageBox.StandardButton.Ok, window)
    box.setObjectName(name)
    box.open()  # not blocking: the event loop (and any running model) keeps going
    return box
