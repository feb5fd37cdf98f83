"""The Qt GUI. Talks to the engine only through ``engine``'s public API."""


def __getattr__(name):
    # Importing the package stays cheap: MainWindow (and with it Qt widgets) loads on first use.
    if name == "MainWindow":
        from .main_window import MainWindow

        return MainWindow
    raise AttributeError(name)
