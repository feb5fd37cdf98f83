"""The single-stack demo models open on their working head, with their example and their facts."""

from pathlib import Path

import numpy as np
import pytest

from visualizer import MainWindow, startup_defaults
from visualizer.widgets.input_panel import training_facts

MODELS = Path(__file__).resolve().parents[2] / "assets" / "models"
SUMMARY = {  # the shape of engine/tasks/induction.py's summary, with round numbers
    "steps": 3000, "train_examples": 100000,
    "eval": {"n": 500, "repeat_accuracy": 0.998,
             "heads": [{"role": "induction", "kind": "decoder", "layer": 1, "head": 3,
                        "statistic": "induction", "score": 0.981},
                       {"role": "previous-token", "kind": "decoder", "layer": 0, "head": 2,
                        "statistic": "previous_token", "score": 0.54}],
             "zeroed": {"role": "induction", "kind": "decoder", "heads": [[1, 0], [1, 3]],
                        "score": "repeat_accuracy", "value": 0.0076}},
}


def test_the_facts_name_the_heads_and_what_zeroing_them_costs():
    assert training_facts(SUMMARY) == [
        ("Trained", "3,000 steps on 100,000 examples"),
        ("Repeat accuracy", "99.8% of 500 held out"),
        ("Induction head", "dec L1 H3, induction score 0.98"),
        ("Previous-token head", "dec L0 H2, previous-token score 0.54"),
        ("Induction heads zeroed", "L1 H0, L1 H3: repeat accuracy 1%"),
    ]
    subject = {"eval": {"heads": [{"role": "subject", "kind": "encoder", "layer": 1, "head": 2,
                                   "statistic": "subject_share", "score": 0.996}]}}
    assert training_facts(subject) == [("Subject head", "enc L1 H2, 100% of masks look at the subject")]


def test_malformed_head_entries_are_left_out():
    broken = {"eval": {"heads": [{"role": "induction", "layer": "1", "head": 3}, "L1 H3", None],
                       "zeroed": {"heads": "all", "value": 0.5}}}
    assert training_facts(broken) == []


class FakeModel:
    def __init__(self, kinds, training):
        self.kinds, self.training = kinds, training


@pytest.mark.parametrize("kinds, training, selection", [
    (("decoder",), SUMMARY, {"kind": "decoder", "layer": 1, "head": 3}),
    (("encoder",), SUMMARY, {}),  # a head of a kind the model lacks
    (("decoder",), {"eval": {"heads": [{"kind": "decoder", "layer": True, "head": 0}]}}, {}),
    (("decoder",), {}, {}),
    (("encoder", "decoder", "cross"), {"eval": {"best_alignment_head": [0, 2]}},
     {"kind": "cross", "layer": 0, "head": 2}),
])
def test_a_model_opens_on_the_head_its_summary_names(kinds, training, selection):
    assert startup_defaults.opening_selection(FakeModel(kinds, training)) == selection


@pytest.mark.parametrize("name, kind", [("induction", "decoder"), ("agreement", "encoder")])
def test_a_shipped_demo_model_opens_on_its_example_and_working_head(qtbot, name, kind):
    path = MODELS / f"{name}.safetensors"
    if not path.exists():
        pytest.skip(f"{path.name} is not trained yet (python -m engine.train --task {name})")
    win = MainWindow(checkpoint=path)
    qtbot.addWidget(win)
    with qtbot.waitSignal(win.traceChanged, timeout=60_000) as blocker:
        win.show()
    named = win.state.model.training["eval"]["heads"][0]
    assert (win.state.kind, win.state.layer, win.state.head) == (kind, named["layer"], named["head"])
    assert win.input_panel.source_input.text() == startup_defaults.example_sentence(str(path))
    assert f"{named['role'].capitalize()} head" in win.input_panel.facts_label.text()
    trace = blocker.args[0]
    shown = win.attention_view.image_item.image
    np.testing.assert_array_equal(shown, trace.attention[kind][named["layer"], named["head"]])
    win.close()
