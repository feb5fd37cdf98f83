"""The token chips at 2,048 + 2,048 tokens: a hover repaints two chips, the mouse publishes the chip
it is on, and a token hovered in another pane is brought into sight."""

import pytest
from PySide6.QtCore import QPoint

from tests.conftest import TINY_WORDS, make_tiny_model
from tests.visualizer.chip_pixels import chip_color, move_mouse_to_chip
from tests.visualizer.shown_view import show_then_feed
from visualizer.widgets.input_panel import InputPanel
from visualizer.widgets.token_chips import HOVER_COLOR, SIDE_COLORS

TOKENS = 2048


@pytest.fixture(scope="module")
def long_run():
    """A trace of 2,048 source and 2,048 target tokens (sinusoidal positions have no length limit)."""
    model = make_tiny_model(positions="sinusoidal")
    english, french = TINY_WORDS[:14], TINY_WORDS[14:]
    source = " ".join(english[i % len(english)] for i in range(TOKENS - 1))  # + "</s>"
    target = " ".join(french[i % len(french)] for i in range(TOKENS - 2))  # + "<s>" and "</s>"
    trace = model.run(source, target, record=False)  # the token pane needs the tokens only
    assert len(trace.source_tokens) == len(trace.target_tokens) == TOKENS
    return model, trace


@pytest.fixture
def panel(qtbot, long_run):
    panel = show_then_feed(qtbot, InputPanel, (400, 700), *long_run)
    qtbot.wait(20)  # the chips' height reaches the scroll area
    return panel


def _record_updates(monkeypatch, chips) -> list:
    updates = []
    original = chips.update

    def update(*args):
        updates.append(args)
        original(*args)

    monkeypatch.setattr(chips, "update", update)
    return updates


def test_a_hover_change_repaints_only_the_chip_it_leaves_and_the_one_it_reaches(panel, qtbot, monkeypatch):
    chips, state = panel.token_chips, panel.state
    state.set_hover("source", 3)
    qtbot.wait(20)
    assert chips.visibleRegion().contains(chips.chip_rect("source", 10))  # both chips in sight
    updates = _record_updates(monkeypatch, chips)
    state.set_hover("source", 10)
    assert [rect.adjusted(1, 1, -1, -1) for (rect,) in updates] == [
        chips.chip_rect("source", 3), chips.chip_rect("source", 10)]
    chips.painted_chips = -1
    qtbot.waitUntil(lambda: chips.painted_chips >= 0)  # the next paint
    assert chips.painted_chips == 2  # not the ~200 in view, nor the 4,096 chips
    assert chip_color(chips, "source", 10) == HOVER_COLOR
    assert chip_color(chips, "source", 3) == SIDE_COLORS["source"]


def test_the_mouse_on_a_chip_hovers_its_token_everywhere_and_paints_it_amber(panel, qtbot):
    chips, state = panel.token_chips, panel.state
    move_mouse_to_chip(qtbot, chips, "target", 5)
    assert state.hover == ("target", 5)
    qtbot.wait(20)
    assert chip_color(chips, "target", 5) == HOVER_COLOR
    assert chip_color(chips, "source", 5) == SIDE_COLORS["source"]  # the same position, other side
    assert chips.tooltip_at(chips.chip_rect("target", 5).center()) == (
        f'target "{state.trace.target_tokens[5]}" #5')
    between = chips.chip_rect("target", 5).topRight() + QPoint(2, 0)  # the gap after the chip
    qtbot.mouseMove(chips, between)
    assert state.hover == ("", -1)
    assert chip_color(chips, "target", 5) == SIDE_COLORS["target"]


def test_a_token_hovered_in_another_pane_is_scrolled_into_sight_only_when_out_of_it(panel, qtbot):
    chips, state = panel.token_chips, panel.state
    bar = panel.tokens_scroll.verticalScrollBar()
    far = chips.chip_rect("target", 1900)
    assert not chips.visibleRegion().intersects(far)
    state.set_hover("target", 1900)
    qtbot.wait(20)
    assert chips.visibleRegion().contains(far)  # the whole chip, not a sliver
    assert chip_color(chips, "target", 1900) == HOVER_COLOR
    shown = bar.value()
    beside = next(p for p in (1899, 1901) if chips.chip_rect("target", p).top() == far.top())
    state.set_hover("target", beside)  # already in sight: the pane stays still
    assert bar.value() == shown and chips.visibleRegion().contains(chips.chip_rect("target", beside))
