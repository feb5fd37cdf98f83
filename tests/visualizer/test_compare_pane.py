"""The compare pane: run B from a second input or checkpoint, A and B side by side, and B − A."""

import numpy as np
import pytest

import engine
from tests.conftest import make_tiny_model
from tests.visualizer.conftest import PAIR
from tests.visualizer.window_once import close, traced_hidden_window, wait_idle
from visualizer.state.comparison import DIFFERENCE_COLORMAP

SOURCE_B = "the big dog sees a red house ."  # as many tokens as PAIR's source


def wait_for_run_b(qtbot, window, before=None):
    """Until a run B other than ``before`` (or its failure) is in the state."""
    qtbot.waitUntil(lambda: window.state.second_run not in (None, before)
                    and not window.compare_controller.busy(), timeout=30_000)


@pytest.fixture(scope="module")
def shared_window(qapp, tiny_checkpoint):
    window = traced_hidden_window(qapp, tiny_checkpoint, *PAIR)
    yield window
    close(qapp, window)


@pytest.fixture
def compare_pane(shared_window, qapp):
    """The shared window on cross layer 1, mean of heads, the compare tab in front, no run B."""
    window = shared_window
    window.state.set_option(compare_source="", compare_checkpoint="")
    window.state.set_selection(kind="cross", layer=1, head="mean")
    window.show_pane("compare")
    wait_idle(qapp, window, lambda: window.state.second_run is None)
    return window, window.views["compare"]


def test_a_second_input_shows_both_runs_and_their_difference(compare_pane, qtbot, tiny_checkpoint, tmp_path):
    window, view = compare_pane
    view.source_input.setText(SOURCE_B)
    qtbot.mouseClick(view.compare_button, qtbot_left())
    wait_for_run_b(qtbot, window)
    model = engine.load(tiny_checkpoint)
    a = model.run(PAIR[0], PAIR[1]).matrix("cross", 1, "mean")
    b = model.run(SOURCE_B, PAIR[1]).matrix("cross", 1, "mean")
    assert view.shown is not None, view.message.text()
    np.testing.assert_allclose(view.images["a"].image, a, atol=1e-7)
    np.testing.assert_allclose(view.images["b"].image, b, atol=1e-7)
    np.testing.assert_allclose(view.images["difference"].image, b - a, atol=1e-6)
    low, high = view.bars["difference"].levels()
    assert low == -high == pytest.approx(-np.abs(b - a).max(), rel=1e-6)  # centred on 0
    assert view.bars["difference"].colorMap().name == DIFFERENCE_COLORMAP
    assert not view.message.isVisible()
    out = window.export_front_pane(tmp_path / "compare.npz")
    with np.load(out, allow_pickle=False) as data:
        np.testing.assert_allclose(data["difference"], b - a, atol=1e-6)
    window.state.set_selection(head=0)  # the pane follows the selection
    np.testing.assert_allclose(view.images["a"].image, model.run(PAIR[0], PAIR[1]).matrix("cross", 1, 0),
                               atol=1e-7)


def test_unequal_lengths_are_said_with_both_tokenizations(compare_pane, qtbot):
    window, view = compare_pane
    view.source_input.setText("the dog runs")
    view.compare()
    wait_for_run_b(qtbot, window)
    text = view.message.text()
    assert "compare needs equal shapes" in text and "the dog runs" in text and view.shown is None


def test_a_second_checkpoint_of_another_architecture_is_refused(compare_pane, qtbot, tmp_path):
    window, view = compare_pane
    model_a = window.state.model
    same, other = tmp_path / "seed1.safetensors", tmp_path / "small.safetensors"
    make_tiny_model(seed=1).save(same)
    make_tiny_model(d_model=16).save(other)
    with qtbot.waitSignal(window.errorOccurred, timeout=30_000) as error:
        view.open_second_checkpoint(str(other))
    assert "not the architecture" in error.args[0] and "d_model 32 vs 16" in error.args[0]
    assert window.state.model is model_a and view.shown is None
    failed = window.state.second_run
    assert failed.trace is None and "not the architecture" in failed.message
    view.open_second_checkpoint(str(same))
    wait_for_run_b(qtbot, window, failed)
    expected = engine.load(same).run(PAIR[0], PAIR[1]).matrix("cross", 1, "mean")
    np.testing.assert_allclose(view.images["b"].image, expected, atol=1e-7)
    assert window.state.model is model_a


def qtbot_left():
    from PySide6.QtCore import Qt

    return Qt.MouseButton.LeftButton
