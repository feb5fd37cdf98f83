"""Opening Hugging Face folders: the ways in (folder, config.json, .bin) and every clear refusal."""

import json
import shutil

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

import engine
from tests.engine.hf_fixtures import (
    SENTENCES,
    hf_folder,
    load_reference,
    one_torch_thread,  # noqa: F401 (an autouse fixture)
)

pytest.importorskip("transformers")

SUPPORTED = ("bart", "marian", "mt5", "t5")


@pytest.fixture(scope="module")
def bart_folder(tmp_path_factory):
    return hf_folder("bart", tmp_path_factory)


@pytest.fixture
def bart_copy(bart_folder, tmp_path):
    """A private copy that a test may damage."""
    return shutil.copytree(bart_folder, tmp_path / "bart-copy")


def rewrite_config(folder, **changes):
    config = json.loads((folder / "config.json").read_text())
    config.update(changes)
    (folder / "config.json").write_text(json.dumps(config))


def test_config_json_path_opens_the_same_model(bart_folder):
    by_folder, by_config = engine.load(bart_folder), engine.load(bart_folder / "config.json")
    np.testing.assert_array_equal(by_config.run(SENTENCES[0], SENTENCES[1]).logits,
                                  by_folder.run(SENTENCES[0], SENTENCES[1]).logits)


def test_pytorch_model_bin_gives_the_same_model_as_safetensors(bart_folder, bart_copy):
    state = load_file(str(bart_copy / "model.safetensors"))
    (bart_copy / "model.safetensors").unlink()
    torch.save(state, bart_copy / "pytorch_model.bin")
    from_bin = engine.load(bart_copy)
    expected = engine.load(bart_folder).run(SENTENCES[0], SENTENCES[1])
    np.testing.assert_array_equal(from_bin.run(SENTENCES[0], SENTENCES[1]).logits, expected.logits)


def test_unsupported_model_type_is_named_with_the_supported_ones(bart_copy):
    rewrite_config(bart_copy, model_type="reformer")
    with pytest.raises(engine.CheckpointError) as error:
        engine.load(bart_copy)
    assert "'reformer'" in str(error.value)
    assert all(name in str(error.value) for name in SUPPORTED)


def test_remote_code_folder_is_refused_without_running_anything(bart_copy):
    (bart_copy / "modeling_evil.py").write_text("raise SystemExit('executed')\n")
    rewrite_config(bart_copy, model_type="evil", auto_map={"AutoModel": "modeling_evil.EvilModel"})
    with pytest.raises(engine.CheckpointError) as error:
        engine.load(bart_copy)
    message = str(error.value)
    assert "'evil'" in message and "auto_map" in message
    assert all(name in message for name in SUPPORTED)


def test_truncated_weights_file_gives_a_clear_error(bart_copy):
    weights = bart_copy / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    with pytest.raises(engine.CheckpointError, match="truncated"):
        engine.load(bart_copy)


def test_garbage_pytorch_bin_gives_a_clear_error(bart_copy):
    (bart_copy / "model.safetensors").unlink()
    (bart_copy / "pytorch_model.bin").write_bytes(b"this is not a pickle, nor a zip archive" * 10)
    with pytest.raises(engine.CheckpointError, match="pytorch_model.bin"):
        engine.load(bart_copy)


def test_folder_without_weights_says_what_it_expected(bart_copy):
    (bart_copy / "model.safetensors").unlink()
    with pytest.raises(engine.CheckpointError, match="model.safetensors or pytorch_model.bin"):
        engine.load(bart_copy)


def test_missing_tensor_is_named(bart_copy):
    from safetensors.torch import save_file

    state = load_file(str(bart_copy / "model.safetensors"))
    del state["model.decoder.layers.1.fc2.weight"]
    save_file(state, str(bart_copy / "model.safetensors"))
    with pytest.raises(engine.CheckpointError, match="model.decoder.layers.1.fc2.weight"):
        engine.load(bart_copy)


def test_bart_folder_with_only_vocab_and_merges_tokenizes_like_transformers(bart_folder, bart_copy):
    """Older BART uploads ship vocab.json + merges.txt and no tokenizer.json."""
    model_json = json.loads((bart_copy / "tokenizer.json").read_text(encoding="utf-8"))["model"]
    (bart_copy / "vocab.json").write_text(json.dumps(model_json["vocab"]), encoding="utf-8")
    merges = [" ".join(m) if isinstance(m, list) else m for m in model_json["merges"]]
    (bart_copy / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n",
                                          encoding="utf-8")
    (bart_copy / "tokenizer.json").unlink()
    _, reference_tokenizer = load_reference(bart_folder)
    model = engine.load(bart_copy)
    for sentence in SENTENCES + ["a <mask> in the middle"]:
        ids = reference_tokenizer(sentence)["input_ids"]
        assert model.tokenizer.encode(sentence).ids == ids, sentence
        assert model.tokenizer.decode(ids) == reference_tokenizer.decode(ids, skip_special_tokens=True)


def test_weights_file_path_opens_its_folder(bart_folder):
    """Picking model.safetensors itself (File → Open) opens the whole folder."""
    model = engine.load(bart_folder / "model.safetensors")
    assert model.name == bart_folder.name and model.config.extra["family"] == "bart"


def test_missing_tokenizer_file_is_named(bart_copy):
    (bart_copy / "tokenizer.json").unlink()
    with pytest.raises(engine.CheckpointError, match="tokenizer.json"):
        engine.load(bart_copy)


def test_marian_without_vocab_json_is_named(tmp_path_factory, tmp_path):
    folder = shutil.copytree(hf_folder("marian", tmp_path_factory), tmp_path / "marian-copy")
    (folder / "vocab.json").unlink()
    with pytest.raises(engine.CheckpointError, match="vocab.json"):
        engine.load(folder)


def test_encoder_and_decoder_of_different_widths_are_refused(bart_copy):
    rewrite_config(bart_copy, decoder_ffn_dim=128)
    with pytest.raises(engine.CheckpointError, match="decoder_ffn_dim=128"):
        engine.load(bart_copy)


def test_marian_never_decodes_a_banned_pad_like_generate(tmp_path_factory, tmp_path):
    """Real opus-mt folders ban <pad> through bad_words_ids; greedy output must honour it.

    The pad's output bias is raised here so that an unbanned decoder would pick it.
    """
    from safetensors.torch import save_file

    from tests.engine.hf_fixtures import SOURCE, load_reference

    folder = shutil.copytree(hf_folder("marian", tmp_path_factory), tmp_path / "marian-banned")
    config = json.loads((folder / "config.json").read_text())
    pad = config["pad_token_id"]
    state = load_file(str(folder / "model.safetensors"))
    state["final_logits_bias"][0, pad] += 100.0
    save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt"})
    generation = json.loads((folder / "generation_config.json").read_text())
    generation["bad_words_ids"] = [[pad]]
    (folder / "generation_config.json").write_text(json.dumps(generation))

    model = engine.load(folder)
    assert model.config.suppressed_token_ids == [pad]
    reference, reference_tokenizer = load_reference(folder)
    ids = torch.tensor([reference_tokenizer(SOURCE)["input_ids"]])
    with torch.no_grad():
        expected = reference.generate(ids, num_beams=1, do_sample=False, max_new_tokens=8)[0].tolist()
    trace = model.run(SOURCE, max_new_tokens=8)
    assert trace.target_ids == expected
    assert pad not in trace.target_ids[1:]
    assert trace.predicted_tokens[0] == "<pad>"  # the raw scores still favour it: nothing hidden


def test_sharded_safetensors_folder_loads_like_a_single_file(bart_folder, bart_copy):
    from safetensors.torch import save_file

    state = load_file(str(bart_copy / "model.safetensors"))
    names = sorted(state)
    shards = {"model-00001-of-00002.safetensors": names[: len(names) // 2],
              "model-00002-of-00002.safetensors": names[len(names) // 2:]}
    for shard, shard_names in shards.items():
        save_file({n: state[n] for n in shard_names}, str(bart_copy / shard), metadata={"format": "pt"})
    weight_map = {n: shard for shard, shard_names in shards.items() for n in shard_names}
    (bart_copy / "model.safetensors.index.json").write_text(json.dumps({"weight_map": weight_map}))
    (bart_copy / "model.safetensors").unlink()
    expected = engine.load(bart_folder).run(SENTENCES[0], SENTENCES[1]).logits
    np.testing.assert_array_equal(engine.load(bart_copy).run(SENTENCES[0], SENTENCES[1]).logits, expected)


def test_opening_a_folder_never_imports_transformers(tmp_path_factory):
    """transformers is a test-only dependency: the app reads the files itself."""
    import subprocess
    import sys

    folders = [str(hf_folder(family, tmp_path_factory)) for family in ("marian", "bart", "t5_v1_1")]
    script = ("import sys, torch, engine\n"
              "torch.set_num_threads(1)\n"
              "for folder in sys.argv[1:]:\n"
              "    engine.load(folder).run('The small cat sleeps.', max_new_tokens=3)\n"
              "print(sorted(m for m in sys.modules if m.split('.')[0] == 'transformers'))\n")
    result = subprocess.run([sys.executable, "-c", script, *folders], capture_output=True, text=True,
                            check=True, timeout=300)
    assert result.stdout.strip() == "[]"


def test_a_separately_stored_output_matrix_is_used_unscaled(tmp_path_factory, tmp_path):
    """Original T5 v1.1 / FLAN files keep lm_head apart from the token table."""
    from safetensors.torch import save_file

    folder = shutil.copytree(hf_folder("t5_v1_1", tmp_path_factory), tmp_path / "t5-own-head")
    state = load_file(str(folder / "model.safetensors"))
    head = torch.randn(state["shared.weight"].shape, generator=torch.Generator().manual_seed(7))
    state["lm_head.weight"] = head
    save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt"})
    rewrite_config(folder, tie_word_embeddings=False)
    model = engine.load(folder)
    assert not model.config.tie_embeddings and model.config.output_scale == 1.0
    trace = model.run(SENTENCES[0], SENTENCES[1])
    expected = trace.activations["decoder.final_norm.output"] @ head.numpy().T
    np.testing.assert_allclose(trace.logits, expected, atol=1e-4, rtol=0)


def test_a_lone_garbage_torch_file_is_a_checkpoint_error_too(tmp_path):
    """The same damaged pickle, opened as a native .pt file, names the file (not an IndexError)."""
    garbage = tmp_path / "weights.pt"
    garbage.write_bytes(b"this is not a pickle, nor a zip archive" * 10)
    with pytest.raises(engine.CheckpointError, match="weights.pt: corrupt"):
        engine.load(garbage)
