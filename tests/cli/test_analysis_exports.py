"""``--view logit-lens``, ``--view rollout`` and ``--value-weighted`` on the shipped translator: the
NPZ equals a recomputation written here from the weights and the trace, and every format is written."""

from pathlib import Path

import numpy as np
import pytest

import engine
from main import main
from tests.export_checks import assert_pdf, svg_texts

ROOT = Path(__file__).resolve().parents[2]
TRANSLATOR = ROOT / "assets" / "models" / "translator.safetensors"
SOURCE = "the small cat sees the big dog ."


@pytest.fixture(scope="module")
def translator():
    model = engine.load(TRANSLATOR)
    return model, model.run(SOURCE)


def export(view, out, *args) -> int:
    return main(["export", "--view", view, "--checkpoint", str(TRANSLATOR), "--source", SOURCE,
                 *map(str, args), "--out", str(out)])


def recomputed_lens(model, trace):
    """Pre-LN translator: each row through decoder.final_norm (LayerNorm by hand) and the tied table."""
    weights = {k: v.double().numpy() for k, v in model.module.state_dict().items()}
    gain, bias = weights["decoder.final_norm.weight"], weights["decoder.final_norm.bias"]
    table = weights["token_embedding.weight"]
    rows = ["decoder.0.resid_pre"] + [f"decoder.{i}.resid_post" for i in range(model.config.n_decoder_layers)]
    top, nxt, ids = [], [], []
    for name in rows:
        x = trace.activations[name].astype(np.float64)
        centred = x - x.mean(axis=1, keepdims=True)
        normed = centred / np.sqrt((centred ** 2).mean(axis=1, keepdims=True) + model.config.norm_eps)
        logits = (normed * gain + bias) @ table.T
        probs = np.exp(logits - logits.max(axis=1, keepdims=True))
        probs /= probs.sum(axis=1, keepdims=True)
        top.append(probs.max(axis=1))
        ids.append(probs.argmax(axis=1))
        nxt.append([probs[p, trace.target_ids[p + 1]] for p in range(len(probs) - 1)] + [np.nan])
    return np.array(top), np.array(nxt), np.array(ids)


def test_logit_lens_npz_and_csv_equal_a_recomputation(translator, tmp_path):
    model, trace = translator
    assert export("logit-lens", tmp_path / "lens.npz") == 0
    top, nxt, ids = recomputed_lens(model, trace)
    with np.load(tmp_path / "lens.npz", allow_pickle=False) as data:
        assert data["top_probs"].shape == (model.config.n_decoder_layers + 1, len(trace.target_tokens))
        assert data["top_probs"].dtype == np.float32 and data["target_probs"].dtype == np.float32
        np.testing.assert_allclose(data["top_probs"], top, atol=1e-5)
        np.testing.assert_allclose(data["target_probs"], nxt, atol=1e-5)  # NaN at the last position too
        tokens = [[model.target_tokenizer.id_to_token(int(i)) for i in row] for row in ids]
        assert data["top_tokens"].tolist() == tokens
        assert data["position_tokens"].tolist() == trace.target_tokens
    assert export("logit-lens", tmp_path / "lens.csv") == 0
    rows = (tmp_path / "lens.csv").read_text(encoding="utf-8").splitlines()
    assert rows[0].split(",")[1:] == trace.target_tokens and rows[1].startswith("embeddings,")
    values = np.array([[float(v) for v in row.split(",")[1:]] for row in rows[1:]], dtype=np.float32)
    np.testing.assert_allclose(values, top, atol=1e-5)  # the CSV is top_probs


def hand_rollout(attention, kind, layer, fusion):
    """DESIGN.md's rollout, written with explicit loops over layers."""
    def fuse(a):
        return a.mean(axis=0) if fusion == "mean" else a.max(axis=0)

    def rolled(stack, last):
        r = np.eye(stack.shape[-1])
        for i in range(last + 1):
            step = 0.5 * fuse(stack[i].astype(np.float64)) + 0.5 * np.eye(stack.shape[-1])
            r = (step / step.sum(axis=1, keepdims=True)) @ r
        return r

    if kind != "cross":
        return rolled(attention[kind], layer)
    x = fuse(attention["cross"][layer].astype(np.float64))
    x = x / x.sum(axis=1, keepdims=True)
    encoder = rolled(attention["encoder"], len(attention["encoder"]) - 1)
    return rolled(attention["decoder"], layer) @ x @ encoder


@pytest.mark.parametrize("kind, layer, head", [("encoder", 1, "mean"), ("encoder", 1, "max"),
                                               ("cross", 0, "mean"), ("cross", 0, "max")])
def test_rollout_npz_equals_a_recomputation(translator, tmp_path, kind, layer, head):
    _, trace = translator
    out = tmp_path / "rollout.npz"
    assert export("rollout", out, "--kind", kind, "--layer", layer, "--head", head) == 0
    expected = hand_rollout(trace.attention, kind, layer, head)
    with np.load(out, allow_pickle=False) as data:
        np.testing.assert_allclose(data["matrix"], expected, atol=1e-6)
        np.testing.assert_allclose(data["matrix"].sum(axis=1), 1, atol=1e-5)
        assert data["key_tokens"].tolist() == trace.source_tokens and str(data["head"]) == head


def test_value_weighted_npz_is_the_share_of_each_keys_moved_vector(translator, tmp_path):
    model, trace = translator
    out = tmp_path / "weighted.npz"
    assert export("attention", out, "--kind", "encoder", "--layer", 0, "--head", 0, "--value-weighted") == 0
    attention = model.module.encoder.layers[0].self_attn
    v = trace.activations["encoder.0.self_attn.v"][0].astype(np.float64)  # head 0, [keys, d_head]
    w_o = attention.out_proj.weight.detach().double().numpy()[:, : v.shape[1]]
    norms = np.sqrt(((v @ w_o.T) ** 2).sum(axis=1))
    products = trace.attention["encoder"][0, 0] * norms
    with np.load(out, allow_pickle=False) as data:
        np.testing.assert_allclose(data["value_norms"][0], norms, rtol=1e-5)
        np.testing.assert_allclose(data["matrix"], products / products.sum(axis=1, keepdims=True), rtol=1e-5)
        np.testing.assert_array_equal(data["weights"], trace.attention["encoder"][0, 0])
    end = trace.source_tokens.index("</s>")  # a short value vector: the weight on </s> overstates it
    assert norms[end] < np.delete(norms, end).mean()


@pytest.mark.parametrize("view, args, title", [
    ("logit-lens", ["--color-by", "target"], "coloured by the probability of the true next token"),
    ("rollout", ["--kind", "cross", "--head", "max"], "attention rollout to source tokens"),
    ("attention", ["--kind", "encoder", "--value-weighted"], "value-weighted: a·‖v W_O‖"),
])
def test_each_view_writes_png_svg_and_pdf(tmp_path, view, args, title):
    for suffix in ("png", "svg", "pdf"):
        assert export(view, tmp_path / f"f.{suffix}", *args) == 0
    assert (tmp_path / "f.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert any(title in text for text in svg_texts(tmp_path / "f.svg"))
    assert_pdf(tmp_path / "f.pdf")


def test_rollout_refuses_a_numbered_head(tmp_path, capsys):
    assert export("rollout", tmp_path / "r.npz", "--head", 2) == 2
    assert "the rollout view fuses all heads: --head mean or max" in capsys.readouterr().err
