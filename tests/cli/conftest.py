"""CLI test setup: in-process exports paint with pytest-qt's QApplication, as inside the app."""

import pytest


@pytest.fixture(autouse=True)
def gui_application(qapp):
    """The command reuses a running QGuiApplication instead of starting an offscreen one."""
    return qapp
