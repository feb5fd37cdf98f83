"""Patterns written in place into their kind's stack (engine.pattern_stacks) are the softmax of
the recorded scores bit for bit, a patched pattern is the one recorded, and no later run writes
into an earlier trace's arrays."""

import numpy as np
import torch

from engine.hooks import hook_points
from tests.conftest import make_tiny_model

TEXT = "the small cat sees the big red dog"


def test_in_place_patterns_are_the_softmax_of_the_scores_and_later_runs_leave_them_alone():
    model = make_tiny_model("encoder-decoder")
    trace = model.run(TEXT, "le chat voit le chien")
    kept = {kind: stack.copy() for kind, stack in trace.attention.items()}
    for kind, stack in trace.attention.items():
        for layer in range(stack.shape[0]):
            name = {"encoder": f"encoder.{layer}.self_attn", "decoder": f"decoder.{layer}.self_attn",
                    "cross": f"decoder.{layer}.cross_attn"}[kind]
            scores = torch.from_numpy(trace.activations[f"{name}.scores"].copy())
            assert np.array_equal(torch.softmax(scores, dim=-1).numpy(), stack[layer]), (kind, layer)
    assert all(point.out is None for point in hook_points(model.module).values())
    model.run("the big dog sees the small red cat", "le chien voit le chat")
    model.run("the big dog sees the small red cat", record=False)
    model.run("a dog")
    for kind, stack in trace.attention.items():
        assert np.array_equal(stack, kept[kind]), kind


def test_a_patched_pattern_is_recorded_in_its_slot():
    model = make_tiny_model("decoder-only")
    plain = model.run(TEXT, max_new_tokens=0)
    length = len(plain.target_ids)
    uniform = np.tril(np.ones((4, length, length), np.float32))
    uniform /= uniform.sum(axis=-1, keepdims=True)
    patched = model.run(TEXT, max_new_tokens=0, patch={"decoder.1.self_attn.pattern": uniform})
    assert np.array_equal(patched.attention["decoder"][1], uniform)
    assert np.array_equal(patched.attention["decoder"][0], plain.attention["decoder"][0])
    assert not np.array_equal(patched.logits, plain.logits)
