"""Patching and ablation through the hook points: what a user changes is exactly what the forward uses."""

import threading

import numpy as np
import pytest

from engine import InputError
from engine.hooks import HookPoint, hook_points, interventions
from tests.conftest import make_tiny_model

SOURCE = "the small cat sees a big red dog"
OTHER = "a big dog runs and the cat sleeps"  # as many tokens as SOURCE
TARGET = "le petit chat voit le chien"

MODELS = {
    "enc-dec post-LN": ("encoder-decoder", {}),
    "enc-dec pre-LN learned+embed_norm": ("encoder-decoder", dict(norm_placement="pre", positions="learned",
                                                                   max_positions=64, embed_norm=True)),
    "enc-dec RMSNorm relative": ("encoder-decoder", dict(norm_placement="pre", norm_type="rmsnorm",
                                                         norm_bias=False, positions="relative")),
    "encoder-only post-LN": ("encoder-only", {}),
    "decoder-only pre-LN RMSNorm": ("decoder-only", dict(norm_placement="pre", norm_type="rmsnorm",
                                                         norm_bias=False)),
}


@pytest.fixture(scope="module", params=list(MODELS))
def model(request):
    architecture, overrides = MODELS[request.param]
    return make_tiny_model(architecture, **overrides)


def fixed_run(model, source=SOURCE, **kwargs):
    """A run with nothing decoded, so any hook may be patched."""
    if model.config.architecture == "encoder-only":
        return model.run(source, **kwargs)
    return model.run(source, TARGET, **kwargs)


def patterns(trace) -> dict:
    from engine import KINDS

    return {f"{KINDS[kind].hook.format(i)}.pattern": stack[i]
            for kind, stack in trace.attention.items() for i in range(len(stack))}


def test_hook_names_are_module_paths_without_the_layers_container(model):
    trace = fixed_run(model)
    paths = [path for path, m in model.module.named_modules() if isinstance(m, HookPoint)]
    from_paths = {path.replace(".layers.", ".") for path in paths}
    recorded = set(trace.activations) | set(patterns(trace))
    assert recorded == from_paths
    assert set(hook_points(model.module)) == from_paths
    assert any(".layers." in path for path in paths)  # the rule did something
    if model.config.has_encoder:
        assert "encoder.layers.0.norm_self.input" in paths  # norms sit in the layer, by their hook name
        assert "encoder.0.self_attn.q" in recorded


def test_patching_every_hook_with_its_own_value_reproduces_the_logits(model):
    plain = fixed_run(model)
    values = {**plain.activations, **patterns(plain)}
    for name, value in values.items():
        patched = fixed_run(model, patch={name: value})
        np.testing.assert_array_equal(patched.logits, plain.logits, err_msg=name)
        assert patched.patched == (name,)
    everything = fixed_run(model, patch=values)
    np.testing.assert_array_equal(everything.logits, plain.logits)
    assert everything.patched == tuple(sorted(values))


def test_patching_encoder_resid_post_changes_downstream_only():
    model = make_tiny_model()
    plain, other = model.run(SOURCE, TARGET), model.run(OTHER, TARGET)
    assert len(plain.source_tokens) == len(other.source_tokens)
    value = other.activations["encoder.0.resid_post"]
    trace = model.run(SOURCE, TARGET, patch={"encoder.0.resid_post": value})
    got, before = trace.activations, plain.activations
    np.testing.assert_array_equal(got["encoder.0.resid_post"], value)  # the trace shows the patch
    np.testing.assert_array_equal(got["encoder.1.resid_pre"], value)
    assert trace.patched == ("encoder.0.resid_post",)
    # Upstream of the patch, and the decoder's first self-attention, never see it.
    for name in ("encoder.embed", "encoder.0.self_attn.pattern", "encoder.0.resid_mid", "encoder.0.ffn.out",
                 "decoder.0.self_attn.z", "decoder.0.resid_mid"):
        source = got if name in got else patterns(trace)
        reference = before if name in before else patterns(plain)
        np.testing.assert_array_equal(source[name], reference[name], err_msg=name)
    for name in ("encoder.1.self_attn.q", "encoder.1.resid_post", "decoder.0.cross_attn.k",
                 "decoder.0.resid_cross", "decoder.1.resid_post"):
        assert not np.allclose(got[name], before[name]), name
    assert not np.allclose(trace.logits, plain.logits)


@pytest.mark.parametrize("name, kind", [("encoder.1.self_attn.pattern", "encoder"),
                                        ("decoder.0.cross_attn.pattern", "cross")])
def test_a_one_hot_pattern_makes_z_exactly_the_selected_value_rows(name, kind):
    model = make_tiny_model()
    plain = model.run(SOURCE, TARGET)
    heads, queries, keys = patterns(plain)[name].shape
    chosen = np.random.default_rng(0).integers(0, keys, size=(heads, queries))
    one_hot = np.zeros((heads, queries, keys), dtype=np.float32)
    np.put_along_axis(one_hot, chosen[..., None], 1.0, axis=-1)
    trace = model.run(SOURCE, TARGET, patch={name: one_hot})
    attention = name.removesuffix(".pattern")
    v, z = trace.activations[f"{attention}.v"], trace.activations[f"{attention}.z"]
    np.testing.assert_array_equal(z, np.take_along_axis(v, chosen[..., None], axis=1))
    layer = int(name.split(".")[1])
    np.testing.assert_array_equal(trace.attention[kind][layer], one_hot)
    # The scores, upstream of the pattern, are the model's own.
    np.testing.assert_array_equal(trace.activations[f"{attention}.scores"],
                                  plain.activations[f"{attention}.scores"])


def ablatable(model) -> list[tuple[str, int, int]]:
    return [(kind, 1, 2) for kind in model.kinds]


def test_ablating_a_head_equals_patching_its_z_with_zeros(model):
    plain = fixed_run(model)
    for kind, layer, head in ablatable(model):
        from engine import KINDS

        name = f"{KINDS[kind].hook.format(layer)}.z"
        zeroed = plain.activations[name].copy()
        zeroed[head] = 0.0
        patched = fixed_run(model, patch={name: zeroed})
        ablated = fixed_run(model, ablate=[(kind, layer, head)])
        np.testing.assert_array_equal(ablated.logits, patched.logits, err_msg=kind)
        assert not np.array_equal(ablated.logits, plain.logits), kind
        np.testing.assert_array_equal(ablated.activations[name], zeroed)
        assert ablated.ablated == ((kind, layer, head),) and ablated.patched == ()


def test_ablation_applies_after_a_patch_of_the_same_z():
    model = make_tiny_model()
    name = "decoder.1.cross_attn.z"
    shape = model.run(SOURCE, TARGET).activations[name].shape
    value = np.random.default_rng(1).normal(size=shape).astype(np.float32) + 3.0  # no zeros
    both = model.run(SOURCE, TARGET, patch={name: value}, ablate=[("cross", 1, 2)])
    expected = value.copy()
    expected[2] = 0.0
    np.testing.assert_array_equal(both.activations[name], expected)
    zeroed = model.run(SOURCE, TARGET, patch={name: expected})
    np.testing.assert_array_equal(both.logits, zeroed.logits)


def test_patched_norm_statistics_are_the_ones_the_norm_divides_by():
    model = make_tiny_model()
    plain = model.run(SOURCE, TARGET)
    prefix = "encoder.1.norm_ffn"
    std = plain.activations[f"{prefix}.std"] * 2
    mean = plain.activations[f"{prefix}.mean"] + 0.5
    trace = model.run(SOURCE, TARGET, patch={f"{prefix}.std": std, f"{prefix}.mean": mean})
    got = trace.activations
    np.testing.assert_array_equal(got[f"{prefix}.std"], std)
    np.testing.assert_array_equal(got[f"{prefix}.mean"], mean)
    np.testing.assert_allclose(got[f"{prefix}.normalized"],
                               (got[f"{prefix}.input"] - mean[:, None]) / std[:, None], rtol=1e-6, atol=1e-7)
    assert trace.patched == (f"{prefix}.mean", f"{prefix}.std")


def test_an_unknown_hook_is_named_with_valid_names():
    model = make_tiny_model()
    expected = r"'encoder\.0\.resid_pst'.*valid names include.*'encoder\.0\.resid_post'"
    with pytest.raises(InputError, match=expected):
        model.run(SOURCE, TARGET, patch={"encoder.0.resid_pst": np.zeros((9, 32))})


def test_a_wrong_shape_names_the_hook_and_both_shapes():
    model = make_tiny_model()
    with pytest.raises(InputError, match=r"'encoder\.0\.self_attn\.q'.*\[4, 9, 7\].*\[4, 9, 8\]"):
        model.run(SOURCE, TARGET, patch={"encoder.0.self_attn.q": np.zeros((4, 9, 7))})
    with pytest.raises(InputError, match=r"decoder\.0\.resid_pre.*\[5, 32\].*\[8, 32\]"):
        model.run(SOURCE, TARGET, patch={"decoder.0.resid_pre": np.zeros((5, 32))})


def test_patching_a_decoder_needs_a_fixed_target():
    patch = {"decoder.0.resid_pre": np.zeros((3, 32))}
    with pytest.raises(InputError, match="fixed target"):
        make_tiny_model().run(SOURCE, patch=patch)
    decoder_only = make_tiny_model("decoder-only")
    with pytest.raises(InputError, match="max_new_tokens=0"):
        decoder_only.run("the cat", patch=patch)
    trace = decoder_only.run("the cat", max_new_tokens=0, patch=patch)  # <s> the cat: 3 positions
    np.testing.assert_array_equal(trace.activations["decoder.0.resid_pre"], 0.0)
    assert trace.target_tokens == ["<s>", "the", "cat"]


def test_hooks_are_removed_after_a_run_that_raised():
    model = make_tiny_model()
    plain = model.run(SOURCE, TARGET)
    with pytest.raises(InputError):
        model.run(SOURCE, TARGET, ablate=[("cross", 0, 1)],
                  patch={"decoder.1.ffn.out": np.zeros((2, 32))})
    assert not [m for m in model.module.modules() if m._forward_hooks]
    again = model.run(SOURCE, TARGET)
    np.testing.assert_array_equal(again.logits, plain.logits)
    assert again.patched == () and again.ablated == ()


def test_interventions_can_record_a_chosen_few_hooks():
    model = make_tiny_model()
    names = ["decoder.1.cross_attn.pattern", "encoder.0.norm_self.std"]
    source = np.array([model.tokenizer.encode(SOURCE).ids])
    import torch

    with interventions(model.module, record=names) as hooks, torch.inference_mode():
        model.module(torch.tensor(source), torch.tensor([[2, 5, 6]]))
    assert sorted(hooks.values) == sorted(names)
    assert hooks.values["encoder.0.norm_self.std"].shape == (1, source.shape[1])


def test_runs_from_two_threads_do_not_mix_their_hooks():
    model = make_tiny_model()
    plain = model.run(SOURCE, TARGET).logits
    ablated = model.run(SOURCE, TARGET, ablate=[("encoder", 0, 1), ("cross", 1, 3)]).logits
    wrong = []

    def work(ablate, expected):
        for _ in range(25):
            logits = model.run(SOURCE, TARGET, ablate=ablate, record=False).logits
            if not np.array_equal(logits, expected):
                wrong.append(ablate)

    threads = [threading.Thread(target=work, args=([], plain)),
               threading.Thread(target=work, args=([("encoder", 0, 1), ("cross", 1, 3)], ablated))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not wrong


@pytest.mark.parametrize("architecture, stack", [("encoder-decoder", "encoder"), ("decoder-only", "decoder")])
def test_patching_a_residual_gives_every_downstream_value_of_the_donor_run(architecture, stack):
    """Layer 1's resid_pre from a donor run: from there on it is the donor's run, before it the model's."""
    model = make_tiny_model(architecture)
    if architecture == "decoder-only":
        plain, donor = (model.run(text, max_new_tokens=0) for text in (SOURCE, OTHER))
        run = lambda **kw: model.run(SOURCE, max_new_tokens=0, **kw)  # noqa: E731
    else:
        plain, donor = model.run(SOURCE, TARGET), model.run(OTHER, TARGET)
        run = lambda **kw: model.run(SOURCE, TARGET, **kw)  # noqa: E731
    name = f"{stack}.1.resid_pre"
    trace = run(patch={name: donor.activations[name]})
    got = {**trace.activations, **patterns(trace)}
    own, theirs = {**plain.activations, **patterns(plain)}, {**donor.activations, **patterns(donor)}
    upstream = [n for n in got if n.startswith((f"{stack}.0.", f"{stack}.embed", f"{stack}.pos_embed"))]
    downstream = [n for n in got if n not in upstream and (n.startswith(f"{stack}.1.") or n.startswith(
        f"{stack}.final_norm") or (stack == "encoder" and n.startswith("decoder.")))]
    assert len(upstream) > 10 and len(downstream) > 10
    for n in upstream:
        np.testing.assert_array_equal(got[n], own[n], err_msg=n)
    differs = 0
    for n in downstream:
        np.testing.assert_array_equal(got[n], theirs[n], err_msg=n)
        differs += not np.allclose(own[n], theirs[n])
    assert differs > 10  # the donor's values are not the model's own: the check above could fail
    np.testing.assert_array_equal(trace.logits, donor.logits)
    assert not np.allclose(trace.logits, plain.logits)
