"""Build a view on an AppState holding a trace, and show it, as the view tests need."""


def show_view(qtbot, tiny_run, view_class, size):
    """An AppState holding ``tiny_run``, and a shown ``view_class`` reading it."""
    from visualizer.state.app_state import AppState

    model, trace = tiny_run
    state = AppState()
    state.set_model(model)
    state.set_trace(trace)
    view = view_class(state)
    qtbot.addWidget(view)
    view.resize(*size)
    view.show()
    qtbot.waitExposed(view)
    return state, view


def show_then_feed(qtbot, view_class, size, model, trace):
    """A shown ``view_class`` on an empty AppState that then gets ``model`` and ``trace``, so the
    view draws through its change handlers, as in the app."""
    from visualizer.state.app_state import AppState

    state = AppState()
    view = view_class(state)
    qtbot.addWidget(view)
    view.resize(*size)
    view.show()
    qtbot.waitExposed(view)
    state.set_model(model)
    state.set_trace(trace)
    return view
