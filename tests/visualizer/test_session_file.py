"""Session files (Qt-free): what is written, what is read back, and what a bad file is told."""

import json

import pytest

from tests.conftest import make_tiny_model
from visualizer.state.session import (
    VERSION,
    SessionError,
    apply_session,
    read_session,
    save_session,
    session_dict,
)
from visualizer.state.view_state import OPTIONS, ViewState


@pytest.fixture(scope="module")
def model():
    return make_tiny_model()


def shown_state(model) -> ViewState:
    state = ViewState()
    state.set_model(model)
    state.set_inputs("the small cat sleeps", "le petit chat dort")
    state.set_selection(kind="cross", layer=1, head="max", hook="encoder.1.resid_post")
    state.set_option(colormap="magma", auto_levels=True, top_k=3, compare_source="the big dog sleeps")
    state.toggle_ablation("encoder", 0, 1)
    state.toggle_ablation("cross", 1, 3)
    state.set_front_pane("compare")
    return state


def test_a_saved_session_reads_back_as_the_same_view(model, tmp_path):
    before = shown_state(model)
    path = save_session(tmp_path / "s.json", before, tmp_path / "model.safetensors")
    written = json.loads(path.read_text(encoding="utf-8"))
    assert written["version"] == VERSION and set(written["options"]) == set(OPTIONS)
    after = ViewState()
    after.set_model(model)
    assert apply_session(after, read_session(path)) == []
    for name in ("source_text", "target_text", "kind", "layer", "head", "hook", "front_pane", "ablated",
                 *OPTIONS):
        assert getattr(after, name) == getattr(before, name), name
    assert read_session(path).checkpoint == str((tmp_path / "model.safetensors").resolve())


@pytest.mark.parametrize("text, message", [
    ("{not json", "invalid JSON"),
    ("[1, 2]", "is not a session file"),
    ('{"format": "transformer-inspector-session", "version": 99}', "unknown session version 99"),
    ('{"format": "transformer-inspector-session", "version": 1, "inputs": {"source": 3}}',
     "source must be text, not int"),
])
def test_a_file_that_is_not_a_session_is_named_and_nothing_applies(tmp_path, text, message):
    path = tmp_path / "bad.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SessionError, match=message):
        read_session(path)


def test_fields_that_do_not_fit_are_skipped_and_named(model, tmp_path):
    data = session_dict(shown_state(model), "")
    data["options"].update(colormap="rainbow", top_k=0, from_a_newer_version=1)
    data["ablated"].append(["cross", 7, 0])  # the tiny model has 2 decoder layers
    data["selection"]["kind"] = "sideways"
    path = tmp_path / "s.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    session = read_session(path)
    state = ViewState()
    state.set_model(model)
    skipped = apply_session(state, session)
    assert skipped == ["selection.kind", "options.colormap", "options.top_k",
                       "options.from_a_newer_version", "ablated head cross:7:0"]
    assert state.colormap == OPTIONS["colormap"] and state.top_k == OPTIONS["top_k"]
    assert state.auto_levels is True and state.ablated == {("encoder", 0, 1), ("cross", 1, 3)}
    assert (state.layer, state.head) == (1, "max")
