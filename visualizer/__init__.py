"""The Qt GUI. Talks to the engine only through ``engine``'s public API."""

from .none_refcount_guard import protect_none

protect_none()  # PySide6 6.12 on Python 3.11 loses a reference to None per void call: see the module


def __getattr__(name):
    # Importing the package stays cheap: MainWindow (and with it Qt widgets) loads on first use.
    if name == "MainWindow":
        from .main_window import MainWindow

        return MainWindow
    raise AttributeError(name)
