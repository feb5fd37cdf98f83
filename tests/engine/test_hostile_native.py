"""Hand-made hostile native checkpoints (.safetensors and .pt), one per root cause the fuzzing
found: each ends in a CheckpointError naming the file, the field and the value, quickly and
without allocating what the file asks for; nothing else escapes."""

import json
import resource
import struct
import time

import pytest
import torch
from safetensors.torch import save_file

import engine
from engine import CheckpointError, InputError
from engine.checkpoint import FORMAT, tensor_digest
from tests.conftest import make_tiny_model

DEEP = "[" * 100_000 + "]" * 100_000
PANIC_TABLE = "BAAAALpNFs4="  # a Precompiled table that parses, and whose trie points nowhere


@pytest.fixture(scope="module")
def model():
    return make_tiny_model(seed=2)


def write(path, model, state=None, **metadata_changes):
    """A native file of ``model``, its metadata (JSON texts) edited; the checksum kept valid."""
    state = {k: v.contiguous() for k, v in (state or model.module.state_dict()).items()}
    metadata = {"format": FORMAT, "config": model.config.to_json(),
                "tokenizer": model.tokenizer.to_json(), "name": "hostile", "training": "{}",
                "sha256": tensor_digest(state)}
    metadata.update(metadata_changes)
    save_file(state, str(path), metadata=metadata)
    return path


def config_with(model, **changes) -> str:
    data = json.loads(model.config.to_json())
    data.update(changes)
    return json.dumps(data).replace('"1e400"', "1e400")


def refused(path, *fragments, seconds: float = 2.0) -> str:
    start = time.perf_counter()
    with pytest.raises(CheckpointError) as info:
        engine.load(path)
    assert time.perf_counter() - start < seconds
    message = str(info.value)
    assert path.name in message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    return message


# ---- config sizes, types and bounds ---------------------------------------------------
@pytest.mark.parametrize("field, value, fragment", [
    ("d_model", 10**9, "d_model=1000000000 is outside 1..65536"),
    ("vocab_size", 10**9, "vocab_size=1000000000 is outside"),
    ("n_encoder_layers", 10**6, "n_encoder_layers=1000000 is outside 0..512"),
    ("d_head", 10**6, "d_head=1000000 is outside"),
    ("d_head", 0, "d_head=0 is outside 1.."),
    ("d_head", -1, "d_head=-1 is outside 1.."),
    ("dropout", 5, "dropout must be in [0, 1), got 5"),
    ("d_model", True, "d_model must be an integer, got True"),
    ("d_ff", 64.0, "d_ff must be an integer, got 64.0"),
    ("vocab_size", "1e400", "vocab_size must be an integer, got inf"),
    ("norm_eps", float("nan"), "norm_eps must be a finite number, got nan"),
    ("activation", ["relu"], "activation must be a string, got ['relu']"),
    ("suppressed_token_ids", [1, "2"], "suppressed_token_ids must be a list of integers"),
    ("relative_max_distance", 2, "relative_max_distance=2 must be above relative_buckets / 2"),
])
def test_impossible_config_values_are_named(model, tmp_path, field, value, fragment):
    changes = {field: value}
    if field == "relative_max_distance":
        changes["positions"] = "relative"
    path = write(tmp_path / "sizes.safetensors", model, config=config_with(model, **changes))
    refused(path, "invalid model config", fragment)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.parametrize("changes, fragment", [
    ({"d_ff": 2**20}, "has shape [64, 32] in the file, but the config needs [1048576, 32]"),
    ({"positions": "learned", "max_positions": 2**24},
     "missing tensor 'encoder.position_table.weight' (expected shape [16777216, 32])"),
    ({"positions": "relative", "relative_buckets": 2**16, "relative_max_distance": 2**20},
     "(expected shape [65536, 4])"),
    ({"n_encoder_layers": 500}, "declares 500 encoder layers (n_encoder_layers), but the tensors hold 2"),
])
def test_a_size_the_tensors_contradict_is_named_before_anything_is_allocated(model, tmp_path,
                                                                              changes, fragment):
    """Within the bounds, yet far beyond the file: the shapes are compared before the model
    is built, so a 4 GB table is never asked for."""
    path = write(tmp_path / "lies.safetensors", model, config=config_with(model, **changes))
    before = _peak_rss_mb()
    refused(path, fragment)
    assert _peak_rss_mb() - before < 100


# ---- token ids --------------------------------------------------------------------------
@pytest.mark.parametrize("field, value", [
    ("eos_token_id", 2**64), ("decoder_start_token_id", 30), ("pad_token_id", -1),
    ("bos_token_id", 10**6)])
def test_token_ids_outside_the_vocabulary_are_named(model, tmp_path, field, value):
    path = write(tmp_path / "ids.safetensors", model, config=config_with(model, **{field: value}))
    refused(path, f"{field}={value} is not a token id", "ids 0..29 (vocab_size 30)")


def test_suppressed_ids_outside_the_vocabulary_are_named(model, tmp_path):
    path = write(tmp_path / "banned.safetensors", model,
                 config=config_with(model, suppressed_token_ids=[3, 99]))
    refused(path, "suppressed_token_ids holds 99", "vocab_size 30")


def _tokenizer_json(model, change) -> str:
    data = json.loads(model.tokenizer.to_json())
    change(data)
    return json.dumps(data)


def test_a_tokenizer_with_ids_past_the_token_table_is_refused(model, tmp_path):
    """A special token numbered past the table, a tokenizer of a bigger model, an id its
    post-processor adds."""
    def add_token(data):
        data["added_tokens"].append({"id": 1000, "content": "<big>", "single_word": False,
                                     "lstrip": False, "rstrip": False, "normalized": False,
                                     "special": True})
    path = write(tmp_path / "special.safetensors", model, tokenizer=_tokenizer_json(model, add_token))
    refused(path, "token '<big>' has id 1000", "30 rows (vocab_size)")

    bigger = engine.word_level_tokenizer([f"word{i}" for i in range(100)])
    path = write(tmp_path / "other.safetensors", model, tokenizer=bigger.to_json())
    refused(path, "has id 103", "30 rows")

    def raise_template_id(data):
        data["post_processor"]["special_tokens"]["</s>"]["ids"] = [500]
    path = write(tmp_path / "template.safetensors", model,
                 tokenizer=_tokenizer_json(model, raise_template_id))
    refused(path, "'</s> (post-processor)' has id 500")


def test_a_word_level_vocabulary_without_its_unknown_token_is_refused(model, tmp_path):
    path = write(tmp_path / "no-unk.safetensors", model,
                 tokenizer=_tokenizer_json(model, lambda d: d["model"]["vocab"].pop("<unk>")))
    refused(path, "lacks the unknown token '<unk>'")


# ---- the tokenizers library's panics ------------------------------------------------------
def test_a_garbage_precompiled_normalizer_is_refused_not_a_panic(model, tmp_path):
    for name, table in (("short", "AAAA/w=="), ("huge", "////f/////////////w==")):
        normalizer = {"type": "Precompiled", "precompiled_charsmap": table}
        path = write(tmp_path / f"{name}.safetensors", model, tokenizer=_tokenizer_json(
            model, lambda d, n=normalizer: d.update(normalizer=n)))
        refused(path, "invalid embedded tokenizer", "Precompiled")


def test_a_panic_while_encoding_is_an_input_error(model, tmp_path):
    normalizer = {"type": "Precompiled", "precompiled_charsmap": PANIC_TABLE}
    path = write(tmp_path / "panics.safetensors", model, tokenizer=_tokenizer_json(
        model, lambda d: d.update(normalizer=normalizer)))
    loaded = engine.load(path)
    with pytest.raises(InputError, match="the tokenizer cannot encode 'the cat'.*index out of bounds"):
        loaded.run("the cat")


def test_keyboard_interrupts_pass_through_the_library_guard():
    from engine.tokenizer_guards import library_errors

    with pytest.raises(KeyboardInterrupt), library_errors("reading"):
        raise KeyboardInterrupt


# ---- the safetensors header ---------------------------------------------------------------
def _rewrite_header(path, change) -> None:
    raw = path.read_bytes()
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + length])
    change(header)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(struct.pack("<Q", len(text)) + text + raw[8 + length:])


NAME = "encoder.layers.0.ffn.w1.weight"


@pytest.mark.parametrize("offsets, fragment", [
    ("0,4", "data_offsets '0,4' are not two byte positions"),
    (None, "data_offsets None are not"),
    ([5], "data_offsets [5] are not"),
    ({"begin": 0}, "data_offsets {'begin': 0} are not"),
    ([-8, 4], "data_offsets [-8, 4] are not"),
    ([8, 4], "data_offsets [8, 4] are not"),
    ([0, 10**12], "tensor data needs 1000000000000 bytes"),
    ("overlap", "overlap"),
])
def test_malformed_data_offsets_are_named(model, tmp_path, offsets, fragment):
    path = write(tmp_path / "offsets.safetensors", model)

    def change(header):
        if offsets == "overlap":
            other = next(k for k in header if k not in ("__metadata__", NAME))
            begin, end = header[other]["data_offsets"]
            header[NAME]["data_offsets"] = [begin, begin + header[NAME]["data_offsets"][1]
                                            - header[NAME]["data_offsets"][0]]
        else:
            header[NAME]["data_offsets"] = offsets
    _rewrite_header(path, change)
    refused(path, fragment)


@pytest.mark.parametrize("metadata, fragment", [
    (["format"], "__metadata__ is a list, not an object of strings"),
    ("text", "__metadata__ is a str"),
    ({"format": FORMAT, "config": {"d_model": 32}}, "__metadata__['config'] is a dict, not a string"),
])
def test_malformed_metadata_is_named(model, tmp_path, metadata, fragment):
    path = write(tmp_path / "metadata.safetensors", model)
    _rewrite_header(path, lambda header: header.update(__metadata__=metadata))
    refused(path, fragment)


@pytest.mark.parametrize("training, fragment", [
    ("not json", "invalid training summary (not valid JSON"),
    ("[1, 2]", "the training summary is a JSON list, not an object"),
    (DEEP, "nested more than 64 levels deep"),
])
def test_a_training_summary_that_is_no_json_object_is_named(model, tmp_path, training, fragment):
    refused(write(tmp_path / "training.safetensors", model, training=training), fragment)


def test_json_nested_100000_deep_is_a_checkpoint_error_everywhere(model, tmp_path):
    refused(write(tmp_path / "config.safetensors", model, config=DEEP), "invalid model config",
            "nested more than 64 levels deep")
    refused(write(tmp_path / "tok.safetensors", model, tokenizer=DEEP), "invalid embedded tokenizer")
    path = write(tmp_path / "header.safetensors", model)
    _rewrite_header(path, lambda header: header.update(deep="__DEEP__"))
    raw = path.read_bytes().replace(b'"__DEEP__"', DEEP.encode())
    (length,) = struct.unpack("<Q", raw[:8])
    path.write_bytes(struct.pack("<Q", length + len(DEEP) - 10) + raw[8:])
    refused(path, "corrupt header (JSON nested more than 64 levels deep)")


# ---- .pt state dicts -------------------------------------------------------------------
def _torch_file(path, model, edit):
    """A saved .pt file with its state dict edited, and its checksum made valid where a
    checksum can still be computed (a hostile file would carry a valid one)."""
    model.save(path)
    payload = torch.load(path, weights_only=True)
    edit(payload["state_dict"])
    state = payload["state_dict"]
    if all(isinstance(k, str) and isinstance(v, torch.Tensor) and v.layout == torch.strided
           and not v.is_meta for k, v in state.items()):
        payload["sha256"] = tensor_digest(state)
    torch.save(payload, path)
    return path


@pytest.mark.parametrize("edit, fragment", [
    (lambda s: s.update({NAME: 3}), f"{NAME!r} holds a int, not a tensor"),
    (lambda s: s.update({NAME: None}), f"{NAME!r} holds a NoneType"),
    (lambda s: s.update({NAME: {"w": s[NAME]}}), f"{NAME!r} holds a dict"),
    (lambda s: s.update({NAME: torch.empty(64, 32, device="meta")}), "is a meta tensor"),
    (lambda s: s.update({NAME: s[NAME].to_sparse()}), "sparse"),
    (lambda s: s.update({7: s.pop(NAME)}), "tensor key 7 is a int, not a name"),
    (lambda s: s.update({NAME: s[NAME].long()}), "holds torch.int64 values"),
])
def test_a_torch_state_dict_of_other_things_is_named(model, tmp_path, edit, fragment):
    refused(_torch_file(tmp_path / "odd.pt", model, edit), fragment)


def test_torch_metadata_that_is_not_text_is_named(model, tmp_path):
    path = tmp_path / "meta.pt"
    model.save(path)
    payload = torch.load(path, weights_only=True)
    payload["training"] = {"steps": 3}
    torch.save(payload, path)
    refused(path, "'training' is a dict, not text")


def test_a_zero_dimensional_tensor_has_a_checksum():
    assert tensor_digest({"x": torch.tensor(1.5)}) != tensor_digest({"x": torch.tensor(2.5)})


def test_a_folder_named_like_a_checkpoint_is_a_checkpoint_error(tmp_path):
    folder = tmp_path / "model.safetensors"
    folder.mkdir()
    with pytest.raises(CheckpointError, match="not a model folder"):
        engine.load(folder)


def test_the_nesting_cap_counts_real_nesting_only():
    """Brackets inside strings (a vocabulary's "[[" piece) do not nest; 64 levels pass."""
    from engine import safe_json

    assert safe_json.loads('{"piece": "' + "[" * 1000 + '", "b": "\\"]]"}')["piece"] == "[" * 1000
    deepest = safe_json.loads("[" * 64 + "]" * 64)
    for _ in range(63):
        deepest = deepest[0]
    assert deepest == []
    with pytest.raises(safe_json.JSONError, match="nested more than 64"):
        safe_json.loads("[" * 65 + "]" * 65)
    with pytest.raises(safe_json.JSONError, match="not valid JSON"):
        safe_json.loads('{"a": [1, 2')
