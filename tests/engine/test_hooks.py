"""Every hook name of DESIGN.md is recorded, with the documented shape, for a 2+2-layer model."""

import pytest

from tests.conftest import make_tiny_model

D, H, DH, FF = 32, 4, 8, 64
NORM_PARTS = ("input", "mean", "std", "normalized", "output")


def expected_hooks(S: int, T: int, norm_placement: str) -> dict[str, tuple]:
    hooks: dict[str, tuple] = {}

    def norm(name, n):
        hooks.update({f"{name}.input": (n, D), f"{name}.mean": (n,), f"{name}.std": (n,),
                      f"{name}.normalized": (n, D), f"{name}.output": (n, D)})

    def attention(name, q, k):
        hooks.update({f"{name}.q": (H, q, DH), f"{name}.k": (H, k, DH), f"{name}.v": (H, k, DH),
                      f"{name}.z": (H, q, DH), f"{name}.scores": (H, q, k), f"{name}.out": (q, D)})

    for stack, n in (("encoder", S), ("decoder", T)):
        hooks[f"{stack}.embed"] = (n, D)
        hooks[f"{stack}.pos_embed"] = (n, D)
        for i in range(2):
            p = f"{stack}.{i}"
            for point in ("resid_pre", "resid_mid", "resid_post"):
                hooks[f"{p}.{point}"] = (n, D)
            attention(f"{p}.self_attn", n, n)
            norm(f"{p}.norm_self", n)
            norm(f"{p}.norm_ffn", n)
            hooks[f"{p}.ffn.hidden"] = (n, FF)
            hooks[f"{p}.ffn.out"] = (n, D)
            if stack == "decoder":
                hooks[f"{p}.resid_cross"] = (n, D)
                attention(f"{p}.cross_attn", T, S)
                norm(f"{p}.norm_cross", n)
        if norm_placement == "pre":
            norm(f"{stack}.final_norm", n)
    return hooks


@pytest.mark.parametrize("norm_placement", ["post", "pre"])
def test_every_hook_present_with_its_shape(norm_placement):
    trace = make_tiny_model(norm_placement=norm_placement).run("the cat sees a red house", "le chat")
    S, T = len(trace.source_tokens), len(trace.target_tokens)
    assert (S, T) == (7, 4)  # 6 words + </s>; <s> + 2 words + </s>
    expected = expected_hooks(S, T, norm_placement)
    got = {name: array.shape for name, array in trace.activations.items()}
    missing = sorted(set(expected) - set(got))
    extra = sorted(set(got) - set(expected))
    assert not missing, f"missing hooks: {missing}"
    assert not extra, f"undocumented hooks: {extra}"
    for name, shape in expected.items():
        assert got[name] == shape, f"{name}: {got[name]} != {shape}"
    assert trace.logits.shape == (T, trace.logits.shape[1])
    assert len(trace.predicted_tokens) == T


def test_embed_norm_and_learned_positions_hooks():
    trace = make_tiny_model(embed_norm=True, positions="learned", max_positions=64).run("the cat")
    for stack in ("encoder", "decoder"):
        for part in NORM_PARTS:
            assert f"{stack}.embed_norm.{part}" in trace.activations
        assert f"{stack}.pos_embed" in trace.activations


def test_no_position_hook_without_added_positions():
    trace = make_tiny_model(positions="none").run("the cat")
    assert "encoder.pos_embed" not in trace.activations
    assert "encoder.embed" in trace.activations
