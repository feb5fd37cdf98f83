"""Hand-made hostile Hugging Face folders, one per root cause the fuzzing found: each ends in a
CheckpointError naming the folder or file, the field and the value, within two seconds and
without allocating what the config asks for."""

import json
import resource
import shutil
import time

import pytest
import torch
from safetensors.torch import load_file, save_file

import engine
from engine import CheckpointError

DEEP = "[" * 100_000 + "]" * 100_000


def refused(folder, *fragments, seconds: float = 2.0) -> str:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    with pytest.raises(CheckpointError) as info:
        engine.load(folder)
    assert time.perf_counter() - start < seconds
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - before < 200  # MB
    message = str(info.value)
    assert folder.name in message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    return message


def edit_json(path, **changes):
    data = json.loads(path.read_text(encoding="utf-8"))
    data.update(changes)
    path.write_text(json.dumps(data), encoding="utf-8")


# ---- folders that need no trained files ----------------------------------------------------
def test_config_values_of_the_wrong_kind_are_named(tmp_path):
    folder = tmp_path / "listed"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": ["bart"]}))
    refused(folder, "unsupported model_type ['bart']")
    (folder / "config.json").write_text(json.dumps({"model_type": "t5", "vocab_size": {"a": 1},
                                                    "d_model": 32, "num_layers": 2}))
    refused(folder, "config.json: vocab_size={'a': 1} must be a whole number")
    (folder / "config.json").write_text(DEEP)
    refused(folder, "listed/config.json: JSON nested more than 64 levels deep")
    (folder / "config.json").unlink()
    (folder / "config.json").mkdir()
    refused(folder, "listed/config.json: expected a file, but it is a folder")


def test_a_deep_tokenizer_json_is_named(tmp_path):
    folder = tmp_path / "deep-tokenizer"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "bart", "vocab_size": 400}))
    (folder / "tokenizer.json").write_text(DEEP)
    refused(folder, "deep-tokenizer/tokenizer.json", "nested more than 64 levels deep")


# ---- copies of the tiny trained folders -------------------------------------------------
@pytest.fixture
def copy(tmp_path, tmp_path_factory):
    """``copy(family)``: a private copy of a tiny saved folder that a test may damage."""
    pytest.importorskip("transformers")
    from tests.engine.hf_fixtures import hf_folder
    from tests.engine.hf_fixtures_encoders import BUILDERS, encoder_folder
    from tests.engine.hf_fixtures_gpt2 import gpt2_folder
    from tests.engine.hf_fixtures_modernbert import modernbert_folder

    def make(family: str):
        source = (gpt2_folder(family, tmp_path_factory) if family.startswith("gpt2")
                  else modernbert_folder(tmp_path_factory) if family == "modernbert"
                  else encoder_folder(family, tmp_path_factory) if family in BUILDERS
                  else hf_folder(family, tmp_path_factory))
        return shutil.copytree(source, tmp_path / f"{family}-copy")
    return make


@pytest.mark.parametrize("family, changes, fragment", [
    ("bart", {"d_model": 10**9}, "d_model=1000000000 is outside 1..65536"),
    ("bart", {"encoder_layers": 10**6}, "n_encoder_layers=1000000 is outside 0..512"),
    ("bart", {"encoder_layers": 1}, "declares encoder_layers=1, but the weights hold 2 encoder layers"),
    ("bart", {"encoder_ffn_dim": 2**20, "decoder_ffn_dim": 2**20},
     "has shape [64, 32] in the file, but the config needs [1048576, 32]"),
    ("bart", {"dropout": 5}, "dropout must be in [0, 1), got 5.0"),
    ("bart", {"max_position_embeddings": 2**24}, "[16777218, 32]"),
    ("bart", {"d_model": 32.0}, "config.json: d_model=32.0 must be a whole number"),
    ("bart", {"decoder_start_token_id": 400}, "decoder_start_token_id=400 is not a token id"),
    ("t5", {"d_kv": 0}, "d_head=0 is outside"),
    ("t5", {"relative_attention_max_distance": 2}, "relative_max_distance=2 must be above"),
    ("t5", {"relative_attention_num_buckets": 10**9}, "relative_buckets=1000000000 is outside"),
    ("t5", {"dropout_rate": True}, "dropout_rate=True must be a finite number"),
    ("modernbert", {"num_hidden_layers": 10**9}, "num_hidden_layers=1000000000 is outside 1..512"),
    ("modernbert", {"layer_types": [["full_attention"]] * 2}, "layer_types=[['full_attention']"),
])
def test_config_sizes_are_bounded_and_checked_against_the_tensors(copy, family, changes, fragment):
    folder = copy(family)
    edit_json(folder / "config.json", **changes)
    refused(folder, fragment)


def test_token_ids_of_the_generation_settings_are_checked(copy):
    folder = copy("marian")
    edit_json(folder / "generation_config.json", bad_words_ids=[[10**6]])
    refused(folder, "suppressed_token_ids holds 1000000", "vocab_size 133")
    edit_json(folder / "generation_config.json", bad_words_ids=[["<pad>"]])
    refused(folder, "bad_words_ids holds '<pad>', which is not a token id")
    folder = copy("gpt2")
    edit_json(folder / "generation_config.json", eos_token_id=2**64)
    refused(folder, "=18446744073709551616 is not a token id", "vocab_size 400")  # eos, and the pad it sets


def test_tokenizer_files_of_another_model_are_refused(copy):
    folder = copy("marian")
    vocab = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
    vocab["▁foreign"] = 5000
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    refused(folder, "token '▁foreign' has id 5000", "133 rows (vocab_size)", "does not belong")
    vocab["▁foreign"] = "5"
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    refused(folder, "vocabulary entry '▁foreign': id '5' is not a whole number")

    folder = copy("bart")
    data = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
    data["model"]["vocab"]["Ġforeign"] = 4000
    (folder / "tokenizer.json").write_text(json.dumps(data), encoding="utf-8")
    refused(folder, "token 'Ġforeign' has id 4000", "400 rows")


def test_a_vocab_json_id_far_past_the_table_is_refused_before_the_library_reads_it(copy):
    """The library would walk every id up to 10⁹ (and reserve 4 GB) to serialise it."""
    folder = copy("gpt2_vocab_files")
    vocab = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
    vocab["Ġthe"] = 10**9
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    refused(folder, "gpt2_vocab_files-copy/vocab.json: token 'Ġthe' has id 1000000000", "400 rows")


def test_a_fused_tensor_that_cannot_split_is_named(copy):
    folder = copy("modernbert")
    state = load_file(str(folder / "model.safetensors"))
    name = next(k for k in state if k.endswith("layers.0.attn.Wqkv.weight"))
    state[name] = torch.tensor(1.0)
    save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt"})
    refused(folder, f"tensor {name!r} has shape [], which does not split into 3 equal parts")


def test_added_tokens_that_are_no_list_do_not_break_the_wordpiece_reader(copy):
    """BERT's tokenizer is rebuilt from tokenizer.json's vocabulary and tokenizer_config.json;
    a damaged ``added_tokens`` there is not needed, and the folder tokenizes as before."""
    folder = copy("bert_st")
    before = engine.load(folder).tokenizer.encode("the cat [MASK] sleeps").tokens
    edit_json(folder / "tokenizer.json", added_tokens=1)
    after = engine.load(folder).tokenizer.encode("the cat [MASK] sleeps").tokens
    assert after == before and after[0] == "[CLS]" and "[MASK]" in after


def test_extra_ids_beyond_the_vocabulary_are_refused_without_building_them(copy):
    folder = copy("t5_v1_1")  # only spiece.model: extra_ids come from tokenizer_config.json
    (folder / "tokenizer_config.json").write_text(json.dumps({"extra_ids": 10**6}))
    refused(folder, "extra_ids=1000000 must be a whole number from 0 to 4")


def test_a_garbage_precompiled_normalizer_in_tokenizer_json_is_refused(copy):
    folder = copy("t5")
    data = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
    data["normalizer"]["precompiled_charsmap"] = "/////w=="  # claims a 4 GB trie
    (folder / "tokenizer.json").write_text(json.dumps(data), encoding="utf-8")
    refused(folder, "t5-copy/tokenizer.json", "Precompiled normalizer's table is damaged")


@pytest.mark.parametrize("name", ["generation_config.json", "tokenizer_config.json", "vocab.json"])
def test_deep_json_in_any_file_is_named(copy, name):
    folder = copy("marian")
    (folder / name).write_text(DEEP)
    refused(folder, f"marian-copy/{name}: JSON nested more than 64 levels deep")


@pytest.mark.parametrize("name", ["model.safetensors", "tokenizer.json", "source.spm"])
def test_a_folder_where_a_file_belongs_is_named(copy, name):
    folder = copy("bart" if name != "source.spm" else "marian")
    (folder / name).unlink()
    (folder / name).mkdir()
    refused(folder, f"{name}: expected a", "but it is a folder")


def test_a_pytorch_bin_of_other_things_is_named(copy):
    folder = copy("bart")
    state = load_file(str(folder / "model.safetensors"))
    (folder / "model.safetensors").unlink()
    state["model.shared.weight"] = state["model.shared.weight"].to_sparse()
    torch.save(state, folder / "pytorch_model.bin")
    refused(folder, "bart-copy/pytorch_model.bin: tensor 'model.shared.weight' is a torch.sparse_coo")
    state["model.shared.weight"] = None
    torch.save(state, folder / "pytorch_model.bin")
    refused(folder, "'model.shared.weight' holds a NoneType, not a tensor")


def test_a_fused_bias_that_cannot_split_in_three_is_named(copy):
    folder = copy("gpt2")
    state = load_file(str(folder / "model.safetensors"))
    state["transformer.h.0.attn.c_attn.bias"] = torch.zeros(95)
    save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt"})
    refused(folder, "transformer.h.0.attn.c_attn.bias has 95 values in the file, but the config needs 96")


def test_a_module_path_with_a_nul_byte_is_named(tmp_path):
    folder = tmp_path / "st-model"
    folder.mkdir()
    (folder / "modules.json").write_text(json.dumps(
        [{"path": "0_Transformer\x00", "type": "sentence_transformers.models.Transformer"}]))
    refused(folder, "is not a folder inside st-model")
