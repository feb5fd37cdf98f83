"""Head importance, patching and ablation effects equal a recomputation through run(ablate=, patch=)."""

import numpy as np
import pytest

from engine import InputError
from engine.ablation_effects import ablation_effects
from engine.head_importance import head_importance
from engine.kinds import KINDS
from engine.patching import patching
from engine.sweeps import Cancelled
from tests.conftest import make_tiny_model

SOURCE = "the small cat sees a big red dog"
OTHER = "the small dog sees a big red cat"  # as many tokens as SOURCE
TARGET = "le petit chat voit le chien"


@pytest.fixture(scope="module", params=["encoder-decoder", "decoder-only", "encoder-only"])
def model(request):
    return make_tiny_model(request.param, seed=3)


def fixed(model, text, **kwargs):
    """The public run with the target every analysis keeps: given, or the prompt alone."""
    architecture = model.config.architecture
    if architecture == "encoder-decoder":
        return model.run(text, TARGET, **kwargs)
    return model.run(text, max_new_tokens=0, **kwargs) if architecture == "decoder-only" \
        else model.run(text, **kwargs)


def softmax(logits):
    shifted = np.exp(logits.astype(np.float64) - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def analysis_target(model):
    return TARGET if model.config.architecture == "encoder-decoder" else None


def test_head_importance_equals_one_ablated_run_per_head(model):
    for kind in model.kinds:
        kwargs = {"max_new_tokens": 0} if model.config.architecture == "decoder-only" else {}
        result = head_importance(model, SOURCE, kind, analysis_target(model), **kwargs)
        p_full = softmax(fixed(model, SOURCE).logits)
        kl = np.zeros((model.n_layers(kind), model.config.n_heads))
        changed = np.zeros_like(kl)
        for layer in range(kl.shape[0]):
            for head in range(kl.shape[1]):
                p = softmax(fixed(model, SOURCE, ablate=[(kind, layer, head)]).logits)
                kl[layer, head] = np.mean(np.sum(p_full * (np.log(p_full) - np.log(p)), axis=-1))
                changed[layer, head] = np.mean(p.argmax(-1) != p_full.argmax(-1))
        assert result.kl.shape == kl.shape and result.kl.dtype == np.float32
        np.testing.assert_allclose(result.kl, kl, rtol=1e-4, atol=1e-7, err_msg=kind)
        np.testing.assert_array_equal(result.argmax_changed, changed.astype(np.float32))
        assert kl.max() > 1e-4  # ablation moved the output: the comparison above can fail
        assert result.ranking()[0][:2] == np.unravel_index(kl.argmax(), kl.shape)


def test_patching_equals_one_patched_run_per_layer_position_and_head(model):
    kwargs = dict(target=analysis_target(model))
    result = patching(model, SOURCE, OTHER, **kwargs)
    clean, corrupted = fixed(model, SOURCE), fixed(model, OTHER)
    architecture = model.config.architecture
    top = clean.logits.argmax(-1)

    def metric(trace):
        logp = np.log(softmax(trace.logits))
        if architecture == "encoder-decoder":
            ids = clean.target_ids
            return np.mean([logp[t, ids[t + 1]] for t in range(len(ids) - 1)])
        if architecture == "decoder-only":
            return logp[-1, top[-1]]
        return np.mean([logp[i, top[i]] for i in range(len(top))])

    m_clean, m_corrupted = metric(clean), metric(corrupted)
    assert abs(m_clean - m_corrupted) > 1e-3
    np.testing.assert_allclose([result.m_clean, result.m_corrupted], [m_clean, m_corrupted], rtol=1e-5)
    stack = "encoder" if model.config.has_encoder else "decoder"

    def effect_of(name, index):
        value = np.array(corrupted.activations[name])
        value[index] = clean.activations[name][index]
        return (metric(fixed(model, OTHER, patch={name: value})) - m_corrupted) / (m_clean - m_corrupted)

    positions = len(clean.tokens("source" if stack == "encoder" else "target"))
    expected = [[effect_of(f"{stack}.{layer}.resid_pre", p) for p in range(positions)]
                for layer in range(model.n_layers(stack))]
    np.testing.assert_allclose(result.effect, expected, rtol=1e-4, atol=1e-5)
    assert np.abs(np.asarray(expected)).max() > 0.1
    assert set(result.head_effect) == set(model.kinds)
    for kind, effects in result.head_effect.items():
        name = KINDS[kind].hook + ".z"
        heads = [[effect_of(name.format(layer), head) for head in range(model.config.n_heads)]
                 for layer in range(model.n_layers(kind))]
        np.testing.assert_allclose(effects, heads, rtol=1e-4, atol=1e-5, err_msg=kind)


def test_patching_a_text_into_itself_has_no_denominator():
    result = patching(make_tiny_model(), SOURCE, SOURCE, TARGET)
    assert result.m_clean == result.m_corrupted
    assert np.isnan(result.effect).all() and all(np.isnan(e).all() for e in result.head_effect.values())


def test_unequal_lengths_name_both_tokenizations():
    with pytest.raises(InputError, match=r"same number of tokens.*clean has 9 "
                                         r"\(the \| small \| cat .*\| </s>\), "
                                         r"corrupted has 4 \(the \| red \| dog \| </s>\)"):
        patching(make_tiny_model(), SOURCE, "the red dog", TARGET)


def test_a_decoded_target_is_the_clean_runs_ids_exactly():
    """Kept as ids: this random model stops at its length limit with no end token, so its
    decoded text would read back one token longer."""
    model = make_tiny_model(seed=3)
    decoded = model.run(SOURCE)
    assert decoded.target_ids[-1] != model.config.eos_token_id
    result = patching(model, SOURCE, OTHER)
    assert result.target_tokens == decoded.target_tokens
    logp = np.log(softmax(decoded.logits))
    ids = decoded.target_ids
    np.testing.assert_allclose(result.m_clean, np.mean([logp[t, ids[t + 1]] for t in range(len(ids) - 1)]),
                               rtol=1e-6)


def test_sweeps_report_progress_and_stop_when_asked():
    model = make_tiny_model()
    seen = []
    head_importance(model, SOURCE, "encoder", TARGET, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (8, 8) and [d for d, _ in seen] == sorted(d for d, _ in seen)
    calls = []
    with pytest.raises(Cancelled):
        patching(model, SOURCE, OTHER, TARGET, progress=lambda d, t: calls.append(d),
                 should_stop=lambda: bool(calls))
    assert len(calls) == 1  # it stopped at the first batch after being asked


def test_ablation_effects_compare_the_two_runs_on_the_unablated_target():
    model = make_tiny_model(seed=3)
    heads = [("cross", 1, 2), ("encoder", 0, 1)]
    effects = ablation_effects(model, SOURCE, heads, TARGET)
    p_full = softmax(model.run(SOURCE, TARGET).logits)
    p_ablated = softmax(model.run(SOURCE, TARGET, ablate=heads).logits)
    top = p_full.argmax(-1)
    rows = np.arange(len(top))
    np.testing.assert_allclose(effects.p_before, p_full[rows, top], rtol=1e-5)
    np.testing.assert_allclose(effects.p_after, p_ablated[rows, top], rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(effects.delta_prob, effects.p_after - effects.p_before, atol=1e-6)
    kl = np.sum(p_full * (np.log(p_full) - np.log(p_ablated)), axis=-1)
    np.testing.assert_allclose(effects.kl, kl, rtol=1e-4, atol=1e-7)
    assert effects.kl.max() > 1e-3 and effects.ablated == tuple(sorted(heads))
    decoded = ablation_effects(model, SOURCE, heads)
    assert decoded.before_text == model.run(SOURCE).output_text
    assert decoded.after_text == model.run(SOURCE, ablate=heads).output_text
    with pytest.raises(InputError, match="layer must be in"):
        ablation_effects(model, SOURCE, [("cross", 5, 0)])


def test_the_translators_colour_adjective_flows_through_its_own_position():
    """The README's worked example: only the adjective's position carries "white" vs "black"."""
    import engine

    translator = engine.load("assets/models/translator.safetensors")
    result = patching(translator, "the white cat sees the small dog", "the black cat sees the small dog")
    assert result.target_tokens[1:4] == ["le", "chat", "blanc"]
    np.testing.assert_allclose(result.effect[:, 1], 1.0, atol=0.02)
    others = np.delete(result.effect, 1, axis=1)
    assert np.abs(others).max() < 0.05
    assert result.head_effect["cross"].max() > 0.3 and np.abs(result.head_effect["decoder"]).max() < 0.05


def test_an_mlm_is_read_at_its_masks_and_its_agreement_head_carries_the_number():
    """The README's MLM example: the subject's number reaches [MASK] through encoder L1 H2."""
    import engine

    model = engine.load("assets/models/agreement.safetensors")
    clean, corrupted = "the dogs with the small cat [MASK] happy", "the dog with the small cat [MASK] happy"
    result = patching(model, clean, corrupted)
    trace = model.run(clean)
    logp = np.log(softmax(trace.logits))
    mask = trace.source_tokens.index("[MASK]")
    np.testing.assert_allclose(result.m_clean, logp[mask].max(), rtol=1e-5, atol=1e-7)
    assert result.m_corrupted < result.m_clean - 5  # "dog" asks for another verb form
    assert result.head_effect["encoder"][1, 2] > 0.7 and np.abs(result.head_effect["encoder"][0]).max() < 0.05
    subject = result.clean_tokens.index("dogs")
    np.testing.assert_allclose(result.effect[:, subject], 1.0, atol=0.01)
