"""An imported GPT-2 folder against transformers itself, and GPT-2's own files and refusals.

Tolerances are the issue's: attention within 1e-5, hidden states and logits within 1e-4,
tokens and greedy continuations identical.
"""

import json
import shutil

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

import engine
from tests.engine.hf_fixtures import (
    SENTENCES,
    one_torch_thread,  # noqa: F401 (an autouse fixture)
)
from tests.engine.hf_fixtures_gpt2 import (
    EOS,
    N_POSITIONS,
    VARIANTS,
    gpt2_folder,
    load_gpt2_reference,
)

pytest.importorskip("transformers")

ATTENTION_TOL = 1e-5
STATE_TOL = 1e-4
NEW_TOKENS = 12
PROMPT = SENTENCES[4]  # "Prices rose 12.5% in 2024; analysts were surprised!"


@pytest.fixture(scope="module")
def gpt2(tmp_path_factory):
    """(folder, our model, transformers' model, transformers' tokenizer)."""
    folder = gpt2_folder("gpt2", tmp_path_factory)
    reference, reference_tokenizer = load_gpt2_reference(folder)
    return folder, engine.load(folder), reference, reference_tokenizer


@pytest.fixture(scope="module")
def compared(gpt2):
    """Our trace of PROMPT and its continuation, and transformers' outputs for the same ids."""
    _, model, reference, _ = gpt2
    trace = model.run(PROMPT)
    with torch.no_grad():
        outputs = reference(torch.tensor([trace.target_ids]), output_attentions=True,
                            output_hidden_states=True)
    return trace, outputs


@pytest.fixture
def gpt2_copy(gpt2, tmp_path):
    """A private copy of the folder that a test may change."""
    return shutil.copytree(gpt2[0], tmp_path / "gpt2-copy")


def rewrite_json(path, **changes):
    data = json.loads(path.read_text(encoding="utf-8"))
    data.update(changes)
    data = {key: value for key, value in data.items() if value is not None}
    path.write_text(json.dumps(data), encoding="utf-8")


# ---- tokens ---------------------------------------------------------------------------
@pytest.mark.parametrize("variant", VARIANTS)
def test_prompt_tokens_match_transformers_for_varied_sentences(tmp_path_factory, variant):
    """tokenizer.json and vocab.json + merges.txt alike: no start token, café and emoji bytes."""
    from transformers import AutoTokenizer

    folder = gpt2_folder(variant, tmp_path_factory)
    reference_tokenizer = AutoTokenizer.from_pretrained(folder)
    model = engine.load(folder)
    assert model.tokenizer.style == "byte-level"
    for sentence in SENTENCES:
        ids = reference_tokenizer(sentence)["input_ids"]
        encoding = model.tokenizer.encode(sentence)
        assert encoding.ids == ids, sentence
        assert encoding.tokens == reference_tokenizer.convert_ids_to_tokens(ids), sentence
        assert model.tokenizer.decode(ids) == reference_tokenizer.decode(ids, skip_special_tokens=True)
    trace = model.run("naïve café 🙂", max_new_tokens=0)
    expected = reference_tokenizer("naïve café 🙂")["input_ids"]
    assert trace.target_ids == expected and trace.source_tokens == []
    assert trace.target_tokens == reference_tokenizer.convert_ids_to_tokens(expected)
    assert len(expected) > len("naïve café 🙂".split())  # é and 🙂 are several byte pieces


@pytest.mark.parametrize("variant, settings, json_prefix_space", [
    ("gpt2_vocab_files", {"add_prefix_space": True}, None),
    ("gpt2_vocab_files", {"add_bos_token": True}, None),
    ("gpt2", {"add_prefix_space": True}, None),
    # transformers rebuilds GPT-2's pre-tokenizer from tokenizer_config.json (default: no
    # leading space), whatever tokenizer.json says.
    ("gpt2", {"add_prefix_space": None}, True),
])
def test_tokenizer_config_settings_apply_as_in_transformers(tmp_path_factory, tmp_path, variant,
                                                            settings, json_prefix_space):
    from transformers import AutoTokenizer

    folder = shutil.copytree(gpt2_folder(variant, tmp_path_factory), tmp_path / "tokenizer-copy")
    rewrite_json(folder / "tokenizer_config.json", **settings)
    if json_prefix_space is not None:
        data = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
        data["pre_tokenizer"]["add_prefix_space"] = json_prefix_space
        (folder / "tokenizer.json").write_text(json.dumps(data), encoding="utf-8")
    reference_tokenizer = AutoTokenizer.from_pretrained(folder)
    model = engine.load(folder)
    for sentence in SENTENCES[:6] + [f"two {EOS} texts"]:
        assert model.tokenizer.encode(sentence).ids == reference_tokenizer(sentence)["input_ids"]
    first = model.tokenizer.encode("Hello").tokens[0]
    assert first == ("Ġ" if settings.get("add_prefix_space") else EOS if "add_bos_token" in settings
                     else "H")


# ---- numbers ----------------------------------------------------------------------------
def test_every_attention_head_matches_transformers(compared):
    trace, outputs = compared
    expected = torch.stack([layer[0] for layer in outputs.attentions]).numpy()
    ours = trace.attention["decoder"]
    assert ours.shape == expected.shape == (2, 4, len(trace.target_ids), len(trace.target_ids))
    np.testing.assert_allclose(ours, expected, atol=ATTENTION_TOL, rtol=0)
    np.testing.assert_allclose(ours.sum(-1), 1.0, atol=1e-6)
    future = np.triu(np.ones(ours.shape[-2:], dtype=bool), 1)
    assert not ours[..., future].any()  # causal: exact zeros after each query
    # Far from uniform: a mapping error cannot hide in near-equal weights.
    assert ours[:, :, 4:].max(-1).mean() > 0.4


def test_hidden_states_match_transformers(compared):
    """hidden_states: the embeddings, each layer's output, the last one after ln_f."""
    trace, outputs = compared
    ours = [trace.activations["decoder.0.resid_pre"], trace.activations["decoder.0.resid_post"],
            trace.activations["decoder.final_norm.output"]]
    assert len(outputs.hidden_states) == len(ours)
    for i, (mine, expected) in enumerate(zip(ours, outputs.hidden_states, strict=True)):
        np.testing.assert_allclose(mine, expected[0].numpy(), atol=STATE_TOL, rtol=0,
                                   err_msg=f"hidden state {i}")
    np.testing.assert_array_equal(trace.activations["decoder.1.resid_pre"], ours[1])


def test_logits_match_transformers(compared):
    trace, outputs = compared
    np.testing.assert_allclose(trace.logits, outputs.logits[0].numpy(), atol=STATE_TOL, rtol=0)


def generate(reference, reference_tokenizer, prompt: str, new_tokens: int) -> list[int]:
    ids = torch.tensor([reference_tokenizer(prompt)["input_ids"]])
    with torch.no_grad():
        return reference.generate(ids, do_sample=False, num_beams=1,
                                  max_new_tokens=new_tokens)[0].tolist()


@pytest.mark.parametrize("prompt", [SENTENCES[0], SENTENCES[6], SENTENCES[8], SENTENCES[17]])
def test_greedy_continuation_matches_generate(gpt2, prompt):
    _, model, reference, reference_tokenizer = gpt2
    trace = model.run(prompt, max_new_tokens=NEW_TOKENS)
    assert trace.target_ids == generate(reference, reference_tokenizer, prompt, NEW_TOKENS)
    start = len(reference_tokenizer(prompt)["input_ids"])  # each continued token is the argmax
    assert trace.predicted_tokens[start - 1:-1] == trace.target_tokens[start:]
    assert trace.output_text == reference_tokenizer.decode(trace.target_ids, skip_special_tokens=True)


def test_default_continuation_is_twenty_tokens_like_generate(gpt2, compared):
    _, _, reference, reference_tokenizer = gpt2
    trace, _ = compared
    expected = generate(reference, reference_tokenizer, PROMPT, 20)
    assert trace.target_ids == expected
    assert len(expected) == len(reference_tokenizer(PROMPT)["input_ids"]) + 20


def test_separate_head_and_end_token_stop_like_generate(gpt2, gpt2_copy):
    """An untied lm_head whose <|endoftext|> row outbids the 3rd continued token: both stop there."""
    _, model, _, reference_tokenizer = gpt2
    prompt = SENTENCES[0]
    prompt_length = len(reference_tokenizer(prompt)["input_ids"])
    planned = model.run(prompt, max_new_tokens=NEW_TOKENS, record=False).target_ids[prompt_length:]
    state = load_file(str(gpt2_copy / "model.safetensors"))
    head = state["transformer.wte.weight"].clone()
    eos = reference_tokenizer.convert_tokens_to_ids(EOS)
    head[eos] = 1.5 * head[planned[2]]
    state["lm_head.weight"] = head
    save_file(state, str(gpt2_copy / "model.safetensors"), metadata={"format": "pt"})
    rewrite_json(gpt2_copy / "config.json", tie_word_embeddings=False)

    untied = engine.load(gpt2_copy)
    assert not untied.config.tie_embeddings
    reference, _ = load_gpt2_reference(gpt2_copy)
    trace = untied.run(prompt, max_new_tokens=NEW_TOKENS)
    assert trace.target_ids == generate(reference, reference_tokenizer, prompt, NEW_TOKENS)
    assert trace.target_ids[-1] == eos and len(trace.target_ids) < prompt_length + NEW_TOKENS
    assert trace.target_tokens[-1] == EOS and EOS not in trace.output_text


def test_suppressed_tokens_of_generation_config_are_never_continued_like_generate(gpt2, gpt2_copy):
    _, model, _, reference_tokenizer = gpt2
    prompt = SENTENCES[0]
    prompt_length = len(reference_tokenizer(prompt)["input_ids"])
    banned = model.run(prompt, max_new_tokens=1, record=False).target_ids[prompt_length]
    rewrite_json(gpt2_copy / "generation_config.json", suppress_tokens=[banned])
    suppressing = engine.load(gpt2_copy)
    assert suppressing.config.suppressed_token_ids == [banned]
    reference, _ = load_gpt2_reference(gpt2_copy)
    trace = suppressing.run(prompt, max_new_tokens=NEW_TOKENS)
    assert trace.target_ids == generate(reference, reference_tokenizer, prompt, NEW_TOKENS)
    assert banned not in trace.target_ids[prompt_length:]


def test_generation_settings_the_engine_cannot_follow_are_noted(gpt2_copy):
    rewrite_json(gpt2_copy / "generation_config.json", repetition_penalty=1.3, no_repeat_ngram_size=0)
    ignored = engine.load(gpt2_copy).config.extra["generation_ignored"]
    assert ignored == {"repetition_penalty": 1.3}


def test_a_prompt_longer_than_the_position_table_is_refused(gpt2):
    _, model, _, _ = gpt2
    prompt = " ".join(["cat"] * N_POSITIONS)
    length = len(model.tokenizer.encode(prompt).ids)
    assert length > N_POSITIONS
    with pytest.raises(engine.InputError, match=f"{length} tokens.*{N_POSITIONS}"):
        model.run(prompt)


def test_a_continuation_stops_at_the_end_of_the_position_table(gpt2):
    _, model, _, _ = gpt2
    prompt = " ".join(["a"] * (N_POSITIONS - 3))  # one token a word
    assert len(model.tokenizer.encode(prompt).ids) == N_POSITIONS - 3
    assert len(model.run(prompt, record=False).target_ids) == N_POSITIONS


# ---- files and refusals ----------------------------------------------------------------
def test_model_facts(gpt2):
    folder, model, _, reference_tokenizer = gpt2
    assert model.name == folder.name and model.kinds == ("decoder",)
    config = model.config
    assert config.extra["family"] == "gpt2" and config.tie_embeddings
    assert (config.n_decoder_layers, config.n_heads, config.d_model, config.d_ff) == (2, 4, 32, 128)
    assert config.max_positions == N_POSITIONS and config.activation == "gelu_tanh"
    assert config.eos_token_id == reference_tokenizer.convert_tokens_to_ids(EOS) == config.vocab_size - 1


def test_original_layout_pytorch_bin_loads_like_safetensors(gpt2, gpt2_copy):
    """openai-community/gpt2's own file: no ``transformer.`` prefix, causal-mask buffers, a pickle
    read with torch.load(weights_only=True)."""
    state = load_file(str(gpt2_copy / "model.safetensors"))
    legacy = {name.removeprefix("transformer."): tensor for name, tensor in state.items()}
    for i in range(2):
        legacy[f"h.{i}.attn.bias"] = torch.tril(torch.ones(N_POSITIONS, N_POSITIONS)).view(
            1, 1, N_POSITIONS, N_POSITIONS)
        legacy[f"h.{i}.attn.masked_bias"] = torch.tensor(-1e4)
    (gpt2_copy / "model.safetensors").unlink()
    torch.save(legacy, gpt2_copy / "pytorch_model.bin")
    expected = gpt2[1].run(SENTENCES[3], max_new_tokens=4)
    trace = engine.load(gpt2_copy).run(SENTENCES[3], max_new_tokens=4)
    assert trace.target_ids == expected.target_ids
    np.testing.assert_array_equal(trace.logits, expected.logits)


def test_missing_tensor_is_named(gpt2_copy):
    state = load_file(str(gpt2_copy / "model.safetensors"))
    del state["transformer.h.1.mlp.c_fc.weight"]
    save_file(state, str(gpt2_copy / "model.safetensors"), metadata={"format": "pt"})
    with pytest.raises(engine.CheckpointError, match="missing tensor 'transformer.h.1.mlp.c_fc.weight'"):
        engine.load(gpt2_copy)


def test_conv1d_of_the_wrong_shape_is_named_with_both_shapes(gpt2_copy):
    rewrite_json(gpt2_copy / "config.json", n_inner=48)
    with pytest.raises(engine.CheckpointError,
                       match=r"'transformer.h.0.mlp.c_fc.weight' has shape \[32, 128\].*\[32, 48\]"):
        engine.load(gpt2_copy)


@pytest.mark.parametrize("option", ["scale_attn_by_inverse_layer_idx", "add_cross_attention"])
def test_unsupported_options_are_named(gpt2_copy, option):
    rewrite_json(gpt2_copy / "config.json", **{option: True})
    with pytest.raises(engine.CheckpointError, match=f"unsupported GPT-2 options: {option}=True"):
        engine.load(gpt2_copy)


@pytest.mark.parametrize("option, value", [("scale_attn_weights", False),
                                           ("reorder_and_upcast_attn", True),
                                           ("activation_function", "gelu")])
def test_attention_options_match_transformers(gpt2_copy, option, value):
    rewrite_json(gpt2_copy / "config.json", **{option: value})
    model = engine.load(gpt2_copy)
    reference, _ = load_gpt2_reference(gpt2_copy)
    trace = model.run(SENTENCES[1], max_new_tokens=0)
    with torch.no_grad():
        outputs = reference(torch.tensor([trace.target_ids]), output_attentions=True)
    expected = torch.stack([layer[0] for layer in outputs.attentions]).numpy()
    np.testing.assert_allclose(trace.attention["decoder"], expected, atol=ATTENTION_TOL, rtol=0)
    np.testing.assert_allclose(trace.logits, outputs.logits[0].numpy(), atol=STATE_TOL, rtol=0)


def test_a_folder_without_tokenizer_files_names_them(gpt2_copy):
    (gpt2_copy / "tokenizer.json").unlink()
    with pytest.raises(engine.CheckpointError, match="tokenizer.json .or vocab.json and merges.txt"):
        engine.load(gpt2_copy)


def test_saved_native_checkpoint_reproduces_the_import(gpt2, tmp_path):
    _, model, _, _ = gpt2
    path = tmp_path / "gpt2.safetensors"
    model.save(path)
    before, after = model.run(SENTENCES[8], max_new_tokens=5), engine.load(path).run(SENTENCES[8],
                                                                                   max_new_tokens=5)
    assert after.target_tokens == before.target_tokens
    np.testing.assert_array_equal(after.logits, before.logits)
