"""Imported Llama, Mistral, Qwen2, Qwen3 and GPT-NeoX folders against transformers itself.

Tolerances are the issue's: attention within 1e-5, hidden states and logits within 1e-4,
tokens and greedy continuations identical. Also: sharded and bfloat16 folders, and refusals.
"""

import json
import shutil

import numpy as np
import pytest
import torch

import engine
from tests.engine.hf_fixtures import (
    SENTENCES,
    one_torch_thread,  # noqa: F401 (an autouse fixture)
)
from tests.engine.hf_fixtures_llama_family import (
    BOS,
    VARIANTS,
    WINDOW,
    family_folder,
    load_reference,
)

pytest.importorskip("transformers")

ATTENTION_TOL = 1e-5
STATE_TOL = 1e-4
NEW_TOKENS = 12
PROMPT = SENTENCES[16]  # "The committee will meet on Monday, 4 March 2024."
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """variant -> (folder, our model, transformers' model, transformers' tokenizer), built once."""
    cache = {}

    def get(variant):
        if variant not in cache:
            folder = family_folder(variant, tmp_path_factory)
            cache[variant] = (folder, engine.load(folder), *load_reference(folder))
        return cache[variant]

    return get


@pytest.fixture(scope="module")
def compared(loaded):
    """variant -> our trace of PROMPT and transformers' outputs for the same ids."""
    cache = {}

    def get(variant):
        if variant not in cache:
            _, model, reference, _ = loaded(variant)
            trace = model.run(PROMPT, max_new_tokens=0)
            with torch.no_grad():
                outputs = reference(torch.tensor([trace.target_ids]), output_attentions=True,
                                    output_hidden_states=True)
            cache[variant] = (trace, outputs)
        return cache[variant]

    return get


def rewrite_json(path, **changes):
    data = json.loads(path.read_text(encoding="utf-8"))
    data.update(changes)
    path.write_text(json.dumps(data), encoding="utf-8")


# ---- tokens --------------------------------------------------------------------------------
@pytest.mark.parametrize("variant", ["llama", "qwen2", "gpt_neox"])
def test_tokens_match_transformers_with_the_start_token_each_family_expects(loaded, variant):
    _, model, _, reference_tokenizer = loaded(variant)
    for sentence in SENTENCES:
        ids = reference_tokenizer(sentence)["input_ids"]
        encoding = model.tokenizer.encode(sentence)
        assert encoding.ids == ids, sentence
        assert encoding.tokens == reference_tokenizer.convert_ids_to_tokens(ids), sentence
    first = model.tokenizer.encode("Hello").tokens[0]
    assert (first == BOS) == (variant == "llama")  # Llama adds its start token; Qwen, Pythia none


# ---- numbers ---------------------------------------------------------------------------------
@pytest.mark.parametrize("variant", VARIANTS)
def test_attention_hidden_states_and_logits_match_transformers(compared, variant):
    trace, outputs = compared(variant)
    length = len(trace.target_ids)
    assert length > 2 * WINDOW
    expected = torch.stack([layer[0] for layer in outputs.attentions]).numpy()
    ours = trace.attention["decoder"]
    assert ours.shape == expected.shape == (2, 4, length, length)
    np.testing.assert_allclose(ours, expected, atol=ATTENTION_TOL, rtol=0)
    np.testing.assert_allclose(ours.sum(-1), 1.0, atol=1e-6)
    rows, columns = np.indices((length, length))
    assert not ours[..., rows < columns].any()  # causal: exact zeros after each query
    far = rows - columns >= WINDOW
    if variant == "mistral":  # the window bites: exact zeros beyond the last WINDOW keys
        assert not ours[..., far].any()
    else:
        assert ours[..., far].min() > 0
    assert ours[:, :, 4:].max(-1).mean() > 0.4  # far from uniform
    acts = trace.activations
    hidden = [acts["decoder.0.resid_pre"], acts["decoder.0.resid_post"], acts["decoder.final_norm.output"]]
    assert len(outputs.hidden_states) == len(hidden)
    for i, (mine, theirs) in enumerate(zip(hidden, outputs.hidden_states, strict=True)):
        np.testing.assert_allclose(mine, theirs[0].numpy(), atol=STATE_TOL, rtol=0,
                                   err_msg=f"hidden state {i}")
    np.testing.assert_allclose(trace.logits, outputs.logits[0].numpy(), atol=STATE_TOL, rtol=0)


def generate(reference, reference_tokenizer, prompt: str) -> list[int]:
    ids = torch.tensor([reference_tokenizer(prompt)["input_ids"]])
    with torch.no_grad():
        return reference.generate(ids, do_sample=False, num_beams=1,
                                  max_new_tokens=NEW_TOKENS)[0].tolist()


@pytest.mark.parametrize("variant", VARIANTS)
def test_greedy_continuation_matches_generate(loaded, variant):
    _, model, reference, reference_tokenizer = loaded(variant)
    for prompt in (SENTENCES[0], SENTENCES[12]):
        trace = model.run(prompt, max_new_tokens=NEW_TOKENS, record=False)
        expected = generate(reference, reference_tokenizer, prompt)
        assert trace.target_ids == expected, prompt
        full = len(reference_tokenizer(prompt)["input_ids"]) + NEW_TOKENS
        assert len(expected) == full or expected[-1] == model.config.eos_token_id  # both stopped


@pytest.mark.parametrize("variant", ["llama", "gpt_neox"])
def test_an_end_token_list_and_banned_words_steer_the_decode_as_generate_does(loaded, tmp_path,
                                                                              variant):
    """Llama-3-style generation_config.json: any listed end token stops; banned ids never appear."""
    folder, model, _, _ = loaded(variant)
    free = model.run(SENTENCES[0], max_new_tokens=NEW_TOKENS, record=False).target_ids
    prompt_length = len(model.run(SENTENCES[0], max_new_tokens=0, record=False).target_ids)
    new = free[prompt_length:]
    stop, banned = new[5], new[1]  # the second listed end token, and a token to ban
    target = tmp_path / variant
    shutil.copytree(folder, target)
    (target / "generation_config.json").write_text(json.dumps(
        {"eos_token_id": [model.config.eos_token_id, stop], "bad_words_ids": [[banned]]}))
    steered = engine.load(target)
    reference, reference_tokenizer = load_reference(target)
    trace = steered.run(SENTENCES[0], max_new_tokens=NEW_TOKENS, record=False)
    assert trace.target_ids == generate(reference, reference_tokenizer, SENTENCES[0])
    assert banned not in trace.target_ids[prompt_length:]
    assert trace.target_ids != free  # the settings changed the decode


# ---- what each folder maps to ------------------------------------------------------------------
def test_qwen_sliding_layers_from_max_window_layers_match_transformers(loaded, tmp_path):
    """use_sliding_window: layers from max_window_layers on see the last sliding_window keys."""
    folder = shutil.copytree(loaded("qwen2")[0], tmp_path / "qwen2-sliding")
    rewrite_json(folder / "config.json", use_sliding_window=True, sliding_window=4,
                 max_window_layers=1, layer_types=None)
    model = engine.load(folder)
    assert (model.config.attention_window, model.config.local_layers) == (4, [1])
    reference, _ = load_reference(folder)
    trace = model.run(PROMPT, max_new_tokens=0)
    with torch.no_grad():
        outputs = reference(torch.tensor([trace.target_ids]), output_attentions=True)
    ours = trace.attention["decoder"]
    np.testing.assert_allclose(ours, torch.stack([a[0] for a in outputs.attentions]).numpy(),
                               atol=ATTENTION_TOL, rtol=0)
    rows, columns = np.indices(ours.shape[-2:])
    assert not ours[1][:, rows - columns >= 4].any() and ours[0][:, rows - columns >= 4].min() > 0
    np.testing.assert_allclose(trace.logits, outputs.logits[0].numpy(), atol=STATE_TOL, rtol=0)


def test_each_family_maps_its_features(loaded, compared):
    configs = {variant: loaded(variant)[1].config for variant in VARIANTS}
    llama = configs["llama"]
    assert (llama.n_heads, llama.kv_heads, llama.tie_embeddings) == (4, 2, False)
    assert llama.rope_scaling == {"type": "llama3", "factor": 4.0, "low_freq_factor": 1.0,
                                  "high_freq_factor": 4.0, "original_max_positions": 16}
    trace, _ = compared("llama")
    assert trace.activations["decoder.1.self_attn.k"].shape == (2, len(trace.target_ids), 8)
    assert trace.activations["decoder.1.self_attn.q"].shape == (4, len(trace.target_ids), 8)
    biased = configs["llama_biased"]
    assert [biased.bias_of(part) for part in ("qkv", "out", "ffn")] == [True] * 3
    assert biased.tie_embeddings and biased.rope_scaling == {"type": "linear", "factor": 2.0}
    assert (configs["mistral"].attention_window, configs["mistral"].local_layers) == (WINDOW, None)
    assert configs["mistral"].kv_heads == 1
    qwen2 = configs["qwen2"]
    assert (qwen2.bias_of("qkv"), qwen2.bias_of("out"), qwen2.bias_of("ffn")) == (True, False, False)
    assert qwen2.tie_embeddings and qwen2.attention_window is None
    qwen3 = configs["qwen3"]
    assert qwen3.qk_norm and qwen3.head_dim == 12 and qwen3.rope_theta == 1e6
    trace, _ = compared("qwen3")
    assert trace.activations["decoder.0.self_attn.q_norm.std"].shape == (4, len(trace.target_ids))
    assert trace.activations["decoder.0.self_attn.k_norm.output"].shape == (2, len(trace.target_ids), 12)
    neox = configs["gpt_neox"]
    assert neox.parallel_blocks and neox.rotary_dims == 4 and not neox.tie_embeddings
    assert not configs["gpt_neox_serial"].parallel_blocks
    trace, _ = compared("gpt_neox")
    assert "decoder.0.resid_mid" not in trace.activations
    assert all(c.extra["stored_dtype"] == "float32" for c in configs.values())
    assert {c.extra["family"] for c in configs.values()} == {"llama", "mistral", "qwen2", "qwen3",
                                                             "gpt_neox"}


# ---- sharded and bfloat16 folders ---------------------------------------------------------------
@pytest.fixture(scope="module")
def sharded(loaded, tmp_path_factory):
    folder, model, reference, _ = loaded("llama")
    target = tmp_path_factory.mktemp("hf-llama-sharded")
    reference.save_pretrained(target, max_shard_size="40KB")
    for name in TOKENIZER_FILES:
        shutil.copy(folder / name, target / name)
    return target, model


def test_a_sharded_folder_loads_the_same_model(sharded):
    folder, whole = sharded
    shards = sorted(folder.glob("model-*.safetensors"))
    assert len(shards) >= 3 and (folder / "model.safetensors.index.json").exists()
    model = engine.load(folder)
    assert np.array_equal(model.run(PROMPT, max_new_tokens=0).logits,
                          whole.run(PROMPT, max_new_tokens=0).logits)


def test_a_missing_or_mislisted_shard_is_named(sharded, tmp_path):
    folder = shutil.copytree(sharded[0], tmp_path / "broken")
    index = json.loads((folder / "model.safetensors.index.json").read_text())
    shard = sorted(set(index["weight_map"].values()))[1]
    (folder / shard).rename(folder / "elsewhere.bin")
    with pytest.raises(engine.CheckpointError, match=f"broken: missing weights shard {shard} "
                                                     r"\(listed in model.safetensors.index.json\)"):
        engine.load(folder)
    (folder / "elsewhere.bin").rename(folder / shard)
    index["weight_map"]["model.norm.weight"] = shard if index["weight_map"]["model.norm.weight"] != shard \
        else sorted(set(index["weight_map"].values()))[0]
    (folder / "model.safetensors.index.json").write_text(json.dumps(index))
    with pytest.raises(engine.CheckpointError, match="'model.norm.weight', which "
                                                     "model.safetensors.index.json places there"):
        engine.load(folder)


def test_bfloat16_weights_compute_in_float32_like_transformers(loaded, tmp_path):
    from transformers import AutoModelForCausalLM

    source = loaded("qwen3")[0]
    folder = tmp_path / "qwen3-bf16"
    AutoModelForCausalLM.from_pretrained(source, dtype=torch.bfloat16).save_pretrained(folder)
    for name in TOKENIZER_FILES:
        shutil.copy(source / name, folder / name)
    model = engine.load(folder)
    assert model.config.extra["stored_dtype"] == "bfloat16"
    assert all(p.dtype == torch.float32 for p in model.module.parameters())
    reference, _ = load_reference(folder)  # the same bf16 file, read as float32
    trace = model.run(PROMPT, max_new_tokens=0)
    with torch.no_grad():
        expected = reference(torch.tensor([trace.target_ids])).logits[0].numpy()
    np.testing.assert_allclose(trace.logits, expected, atol=STATE_TOL, rtol=0)
    assert np.abs(trace.logits - loaded("qwen3")[1].run(PROMPT, max_new_tokens=0).logits).max() > 1e-3


# ---- refusals -------------------------------------------------------------------------------------
@pytest.mark.parametrize("changes,message", [
    ({"auto_map": {"AutoModelForCausalLM": "modeling_x.XForCausalLM"}},
     r"model_type 'qwen3' needs its own Python code \(auto_map\), which is never run; supported "
     r"types: .*gpt_neox, llama, .*mistral, .*qwen2, qwen3"),
    ({"model_type": "phi3"}, r"unsupported model_type 'phi3'; supported: .*gpt_neox, llama, .*qwen3"),
    ({"rope_parameters": {"rope_type": "yarn", "rope_theta": 10000.0, "factor": 4.0}},
     "rope type 'yarn' is not supported; supported: default, linear, llama3"),
])
def test_unsupported_folders_are_refused_by_name(loaded, tmp_path, changes, message):
    folder = shutil.copytree(loaded("qwen3")[0], tmp_path / "refused")
    rewrite_json(folder / "config.json", **changes)
    with pytest.raises(engine.CheckpointError, match=message):
        engine.load(folder)


@pytest.mark.parametrize("variant", ["llama", "qwen3", "gpt_neox"])
def test_an_imported_model_saved_natively_reloads_identically(loaded, tmp_path, variant):
    model = loaded(variant)[1]
    path = tmp_path / f"{variant}.safetensors"
    model.save(path)
    reloaded = engine.load(path)
    assert reloaded.config == model.config
    assert np.array_equal(reloaded.run(PROMPT, max_new_tokens=0).logits,
                          model.run(PROMPT, max_new_tokens=0).logits)
