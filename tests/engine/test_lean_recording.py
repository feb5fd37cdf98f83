"""A run over the memory budget records lean (engine.lean_recording) and reads the same values.

Each model is run twice on one input: with the whole trace, and with a budget below it and
``lean_over_budget`` set, so that only the layers' inputs are kept and the rest is recomputed
when read. Every hook, every attention pattern and the predicted tokens must be bit-identical;
logits, projected a block of rows at a time, agree within float rounding. Also: progress is
reported layer by layer, a cancel stops the run between layers, and a lean run whose working
memory still exceeds the budget is refused naming the size.
"""

import threading

import numpy as np
import pytest

import engine
from engine import lean_recording
from engine.lazy_arrays import LayerStack, LazyArray
from engine.memory_guard import estimate_run
from tests.conftest import make_tiny_model

TEXT = "the small cat sees the big red dog and the small house near the big tree"
LLM = dict(positions="rotary", norm_placement="pre", norm_type="rmsnorm", norm_bias=False,
           bias=False, activation="silu", gated_ffn=True, scale_embeddings=False, n_heads=4)
MODELS = {
    # Qwen3-like: grouped-query attention, q/k norms, a local window on layer 1
    "qwen-like": ("decoder-only", dict(LLM, n_kv_heads=2, qk_norm=True, attention_window=3,
                                       local_layers=[1])),
    # Gemma-like: soft-capped scores and logits, sandwich norms
    "gemma-like": ("decoder-only", dict(LLM, attention_softcap=5.0, final_logit_softcap=8.0,
                                        sandwich_norms=True, norm_weight_offset=1.0)),
    "t5-like": ("encoder-decoder", dict(positions="relative", norm_placement="pre",
                                        norm_type="rmsnorm", norm_bias=False, bias=False,
                                        scale_attention=False, relative_buckets=8,
                                        relative_max_distance=16)),
    "post-ln translator": ("encoder-decoder", {}),
}


def lengths(trace):
    return len(trace.source_ids), len(trace.target_ids)


@pytest.fixture(scope="module", params=list(MODELS))
def pair(request):
    """(the model, its full trace, its lean trace of the same input and target)."""
    architecture, settings = MODELS[request.param]
    model = make_tiny_model(architecture, **settings)
    target = "le chat voit le chien" if architecture == "encoder-decoder" else None
    full = model.run(TEXT, target, max_new_tokens=0 if target is None else None,
                     ablate=[(model.kinds[-1], 1, 2)])
    model.memory_budget = estimate_run(model.module, *lengths(full)).trace_bytes // 2
    model.lean_over_budget = True
    lean = model.run(TEXT, target, max_new_tokens=0 if target is None else None,
                     ablate=[(model.kinds[-1], 1, 2)])
    yield model, full, lean
    model.memory_budget, model.lean_over_budget = None, False


def test_every_hook_and_pattern_of_a_lean_trace_equals_the_full_trace(pair):
    _, full, lean = pair
    assert isinstance(next(iter(lean.attention.values())), LayerStack)
    assert sorted(lean.activations) == sorted(full.activations)
    assert any(isinstance(value, LazyArray) for value in lean.activations.values())
    for name, array in full.activations.items():
        np.testing.assert_array_equal(np.asarray(lean.activations[name]), array, err_msg=name)
        assert lean.activations[name].shape == array.shape, name
    for kind, stack in full.attention.items():
        assert lean.attention[kind].shape == stack.shape
        for layer in range(stack.shape[0]):
            np.testing.assert_array_equal(lean.attention[kind][layer], stack[layer], err_msg=kind)
            assert np.array_equal(lean.matrix(kind, layer, 1), full.matrix(kind, layer, 1))
            assert np.array_equal(lean.matrix(kind, layer, "mean"), full.matrix(kind, layer, "mean"))
    assert lean.predicted_tokens == full.predicted_tokens
    assert lean.logits.shape == full.logits.shape
    scale = float(np.abs(full.logits).max())
    assert float(np.abs(np.asarray(lean.logits) - full.logits).max()) <= 1e-6 * max(scale, 1.0)
    np.testing.assert_array_equal(lean.logits[-1], np.asarray(lean.logits)[-1])


def test_a_lean_trace_keeps_the_residual_stream_and_knows_every_shape_unread(pair):
    model, full, lean = pair
    kept = sum(value.nbytes for value in lean.activations.values() if isinstance(value, np.ndarray))
    whole = estimate_run(model.module, *lengths(full)).trace_bytes
    assert kept < whole / 3
    for name, value in lean.activations.items():
        if isinstance(value, LazyArray):
            assert (value.shape, value.ndim, value.nbytes) == (
                full.activations[name].shape, full.activations[name].ndim,
                full.activations[name].nbytes), name
        assert not name.endswith(("resid_post", "resid_mid", ".std")) or isinstance(value, np.ndarray)


def test_progress_counts_every_layer_and_a_cancel_stops_between_layers():
    model = make_tiny_model("encoder-decoder")
    seen = []
    model.run(TEXT, "le chat", progress=lambda done, total: seen.append((done, total)))
    assert seen == [(i, 4) for i in range(1, 5)]  # 2 encoder + 2 decoder layers
    seen.clear()
    trace = model.run(TEXT, max_new_tokens=3, progress=lambda done, total: seen.append((done, total)))
    steps = len(trace.target_ids) - 1
    assert seen[-1] == (2 + 2 * steps + 4,) * 2
    assert all(total == 2 + 2 * 3 + 4 for _, total in seen[:2 + 2 * steps])  # the most it may take
    stopping = make_tiny_model("encoder-decoder", final_logits_bias=True)
    stopping.module.final_logits_bias.data[stopping.config.eos_token_id] = 100.0  # ends at once
    seen.clear()
    stopping.run(TEXT, max_new_tokens=10, progress=lambda done, total: seen.append((done, total)))
    assert seen[0] == (1, 2 + 2 * 10 + 4)  # while decoding: the longest outcome
    assert seen[-4:] == [(done, 8) for done in range(5, 9)]  # then what is left: "8 of 8"
    asked = []
    with pytest.raises(engine.Cancelled, match="after 3 of 4 layers"):
        model.run(TEXT, "le chat", should_stop=lambda: asked.append(1) or len(asked) == 3)
    assert model.run(TEXT, "le chat").target_tokens  # the cancelled run left no hooks behind
    seen.clear()
    estimate = estimate_run(model.module, *lengths(trace := model.run(TEXT, "le chat")))
    assert estimate.trace_bytes > estimate.working_bytes * 1.1
    model.lean_over_budget = True  # a lean run counts the same
    model.memory_budget = int(estimate.working_bytes * 1.05)
    lean = model.run(TEXT, "le chat", progress=lambda done, total: seen.append((done, total)))
    assert isinstance(lean.attention["encoder"], LayerStack)
    assert seen == [(i, 4) for i in range(1, 5)]


def test_a_lean_run_that_still_would_not_fit_is_refused_naming_the_size():
    model = make_tiny_model("decoder-only", **LLM)
    model.lean_over_budget = True
    ids = len(model.tokenizer.encode(TEXT).ids)
    estimate = estimate_run(model.module, 0, ids)
    model.memory_budget = estimate.working_bytes // 2
    with pytest.raises(engine.InputError, match=r"^this input would need [0-9.]+ kB .*the limit is"):
        model.run(TEXT, max_new_tokens=0)


def test_switching_heads_and_between_two_layers_replays_each_layer_once(pair):
    model, _, lean = pair
    kind = model.kinds[-1]
    part = getattr(model.module, "encoder" if kind == "encoder" else "decoder")
    replays = []
    handles = [layer.register_forward_hook(lambda *_, i=i: replays.append(i))
               for i, layer in enumerate(part.layers)]
    try:
        lean_now = model.run(TEXT, "le chat" if model.config.has_encoder else None,
                             max_new_tokens=None if model.config.has_encoder else 0)
        replays.clear()
        for _ in range(3):
            for head in range(model.config.n_heads):
                lean_now.matrix(kind, 0, head), lean_now.matrix(kind, 1, head)
            np.asarray(lean_now.activations[f"{kind if kind != 'cross' else 'decoder'}.1.ffn.hidden"])
    finally:
        for handle in handles:
            handle.remove()
    assert replays in ([1], [0, 1])  # each layer at most once (layer 0 may be in from the run)
    assert lean_recording.LAYER_CACHE == 2
    stack = lean_now.attention[kind]
    assert stack.is_loaded(0) and stack.is_loaded(1)  # what a view may draw without replaying
    other = "encoder" if model.config.has_encoder and kind != "encoder" else None
    if other is not None:  # two layers of another stack push both out
        np.asarray(lean_now.attention[other][0]), np.asarray(lean_now.attention[other][1])
        assert not stack.is_loaded(0) and not stack.is_loaded(1)


def test_a_lean_value_patches_a_run_as_the_full_value_does(pair):
    model, full, lean = pair
    if not model.config.has_encoder:
        pytest.skip("a decoder-only prompt needs max_new_tokens=0 and gives the same check")
    name = "decoder.1.ffn.hidden"
    results = {}

    def patched():  # in a thread, so that a deadlock fails the test instead of hanging it
        results["lean"] = model.run(TEXT, "le chat voit le chien", patch={name: lean.activations[name]})

    worker = threading.Thread(target=patched, daemon=True)
    worker.start()
    worker.join(timeout=60)
    assert not worker.is_alive(), "reading a lean value inside a run deadlocked"
    model.memory_budget, model.lean_over_budget = None, False
    try:
        reference = model.run(TEXT, "le chat voit le chien", patch={name: full.activations[name]})
    finally:
        model.memory_budget = estimate_run(model.module, *lengths(full)).trace_bytes // 2
        model.lean_over_budget = True
    assert np.array_equal(np.asarray(results["lean"].logits), reference.logits) or \
        float(np.abs(np.asarray(results["lean"].logits) - reference.logits).max()) <= 1e-6
    np.testing.assert_array_equal(np.asarray(results["lean"].activations[name]),
                                  reference.activations[name])
