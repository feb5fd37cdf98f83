"""A recorded trace computes its ``.scores``, logits and predicted tokens when first read, and
keeps its masks (engine.full_recording): every value must be bit-identical to one pass that
records everything, under ablations and patches, for every attention variant.

The reference is the pass as it was before: ``interventions(record=True)`` around the module's
own forward, keeping every tensor.
"""

import threading

import numpy as np
import pytest
import torch

from engine.hooks import interventions
from engine.kinds import KINDS
from tests.engine.test_lean_recording import MODELS, TEXT
from tests.single_stack_models import mlm_model

CASES = {**MODELS, "BERT-like MLM": ("encoder-only", None)}


def _model(name):
    from tests.conftest import make_tiny_model

    architecture, settings = CASES[name]
    if settings is None:
        return mlm_model(output_transform=True, norm_placement="post")
    return make_tiny_model(architecture, **settings)


def _reference(model, trace, ablate=(), patch=None):
    """Every hook's tensor and the logits of one pass recording everything."""
    src = torch.tensor([trace.source_ids]) if trace.source_ids else None
    tgt = torch.tensor([trace.target_ids]) if model.config.has_decoder else None
    with torch.inference_mode(), interventions(model.module, record=True, ablate=ablate,
                                               patch=patch or {}) as run:
        logits = model.module(src, tgt)
    values = {name: tensor[0].numpy() for name, tensor in run.values.items()}
    return values, logits[0].numpy()


@pytest.fixture(scope="module", params=list(CASES))
def case(request):
    model = _model(request.param)
    target = "le chat voit le chien" if model.config.architecture == "encoder-decoder" else None
    arguments = dict(max_new_tokens=0) if model.config.architecture == "decoder-only" else {}
    ablate = [(model.kinds[-1], 1, 2)]
    trace = model.run(TEXT, target, ablate=ablate, **arguments)
    return model, trace, ablate, (target, arguments)


def test_nothing_deferred_is_computed_before_it_is_read(case):
    _, trace, _, _ = case
    assert trace.has_logits and not trace.logits_computed
    assert isinstance(trace.logits, np.ndarray) and not trace.logits.flags.writeable
    assert trace.logits.shape[0] == len(trace.target_ids or trace.source_ids)
    assert isinstance(trace.predicted_tokens, list) and trace.logits_computed


def test_replayed_scores_logits_and_predictions_equal_a_pass_that_kept_them(case):
    model, trace, ablate, _ = case
    values, logits = _reference(model, trace, ablate)
    scores = [name for name in values if name.endswith(".scores")]
    assert len(scores) == sum(model.n_layers(kind) for kind in model.kinds)
    assert list(trace.activations) == [name for name in values if not name.endswith(".pattern")]
    for name in scores:
        assert trace.activations[name].shape == values[name].shape, name
        np.testing.assert_array_equal(np.asarray(trace.activations[name]), values[name], err_msg=name)
    np.testing.assert_array_equal(trace.logits, logits)
    assert trace.predicted_tokens == model.target_tokenizer.tokens_of(logits.argmax(-1).tolist())
    assert trace.logits_computed
    for name, array in trace.activations.items():
        if not name.endswith(".scores"):
            np.testing.assert_array_equal(array, values[name], err_msg=name)


def test_the_kept_masks_are_the_cells_the_scores_hid(case):
    model, trace, ablate, _ = case
    values, _ = _reference(model, trace, ablate)
    hid_any = False
    for kind in model.kinds:
        for layer in range(model.n_layers(kind)):
            hidden = np.isneginf(values[KINDS[kind].hook.format(layer) + ".scores"][0])
            kept = trace.masked_cells(kind, layer)
            if hidden.any():
                hid_any = True
                assert kept is not None and not kept.flags.writeable
                np.testing.assert_array_equal(kept, hidden, err_msg=f"{kind} {layer}")
                assert (trace.attention[kind][layer][:, kept] == 0).all()
            else:
                assert kept is None, (kind, layer)
    assert hid_any == (model.config.architecture != "encoder-only")
    if "decoder" in model.kinds and model.config.attention_window is None:
        assert trace.masked_cells("decoder", 0) is trace.masked_cells("decoder", 1)  # one causal mask


def test_a_patched_run_replays_its_scores_with_the_patch(case):
    model, trace, ablate, (target, arguments) = case
    stack = "encoder" if model.config.architecture == "encoder-only" else "decoder"
    name = f"{stack}.1.resid_pre"
    donor = np.asarray(trace.activations[name]) * -1.5
    patched = model.run(TEXT, target, ablate=ablate, patch={name: donor}, **arguments)
    values, logits = _reference(model, patched, ablate, {name: donor})
    for kind in model.kinds:
        scores = KINDS[kind].hook.format(1) + ".scores"
        if scores.startswith(stack):
            np.testing.assert_array_equal(np.asarray(patched.activations[scores]), values[scores])
            assert not np.array_equal(values[scores], np.asarray(trace.activations[scores]))
    np.testing.assert_array_equal(np.asarray(patched.logits), logits)


def test_readers_on_two_threads_share_one_computation():
    model = _model("post-ln translator")
    trace = model.run(TEXT, "le chat voit")
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(np.asarray(trace.logits)))
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 4 and all(array is seen[0] for array in seen)
    assert not seen[0].flags.writeable


def test_an_unrecorded_run_defers_its_logits_too_and_they_match_the_recorded_ones():
    model = _model("gemma-like")
    recorded = model.run(TEXT, max_new_tokens=0)
    bare = model.run(TEXT, max_new_tokens=0, record=False)
    assert not bare.attention and bare.has_logits and not bare.logits_computed
    np.testing.assert_array_equal(np.asarray(bare.logits), np.asarray(recorded.logits))
    assert bare.predicted_tokens == recorded.predicted_tokens
