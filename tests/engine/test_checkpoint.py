"""Native checkpoints round-trip bit for bit; every bad file gets a CheckpointError naming the problem."""

import json
import struct

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

import engine
from engine import CheckpointError
from engine.checkpoint import FORMAT, tensor_digest
from tests.conftest import make_tiny_model

SENTENCE = "the big dog sees the small cat"


@pytest.fixture(scope="module")
def model():
    model = make_tiny_model(seed=3)
    model.training = {"steps": 5, "final_loss": 1.25}
    return model


@pytest.fixture(scope="module")
def saved(model, tmp_path_factory):
    path = tmp_path_factory.mktemp("ckpt") / "tiny.safetensors"
    model.save(path)
    return path


@pytest.mark.parametrize("suffix", [".safetensors", ".pt"])
def test_round_trip_is_bit_identical(model, tmp_path, suffix):
    path = tmp_path / f"m{suffix}"
    model.save(path)
    loaded = engine.load(path)
    assert loaded.name == model.name
    assert loaded.config == model.config
    assert loaded.training == model.training
    before, after = model.module.state_dict(), loaded.module.state_dict()
    assert before.keys() == after.keys()
    for name in before:
        assert torch.equal(before[name], after[name]), name
    a, b = model.run(SENTENCE), loaded.run(SENTENCE)
    assert np.array_equal(a.logits, b.logits)
    assert a.target_tokens == b.target_tokens
    assert loaded.tokenizer.encode("the zebra").tokens == ["the", "<unk>", "</s>"]


def test_the_file_carries_config_tokenizer_and_summary(saved):
    header_len = struct.unpack("<Q", saved.read_bytes()[:8])[0]
    metadata = json.loads(saved.read_bytes()[8:8 + header_len])["__metadata__"]
    assert metadata["format"] == FORMAT
    assert json.loads(metadata["config"])["d_model"] == 32
    assert json.loads(metadata["tokenizer"])["model"]["type"] == "WordLevel"
    assert json.loads(metadata["training"])["steps"] == 5


def expect_error(path, *fragments):
    with pytest.raises(CheckpointError) as info:
        engine.load(path)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    return message


def test_missing_file(tmp_path):
    expect_error(tmp_path / "nope.safetensors", "nope.safetensors", "no such file")


def test_not_a_checkpoint(tmp_path):
    text = tmp_path / "notes.safetensors"
    text.write_text("these are my notes, not a model\n" * 10)
    expect_error(text, "notes.safetensors", "not a checkpoint")
    tiny = tmp_path / "tiny.safetensors"
    tiny.write_bytes(b"abc")
    expect_error(tiny, "not a checkpoint")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"\x00\x01garbage" * 50)
    expect_error(junk, "junk.pt")


def test_truncated_file(saved, tmp_path):
    data = saved.read_bytes()
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(data[: len(data) // 2])
    expect_error(cut, "cut.safetensors", "truncated")
    cut_header = tmp_path / "cut_header.safetensors"
    cut_header.write_bytes(data[:40])
    expect_error(cut_header, "truncated")


def test_corrupt_tensor_data_is_caught_by_the_checksum(saved, tmp_path):
    data = bytearray(saved.read_bytes())
    data[-100] ^= 0xFF
    bad = tmp_path / "flipped.safetensors"
    bad.write_bytes(bytes(data))
    expect_error(bad, "flipped.safetensors", "corrupt")


def test_truncated_torch_file(model, tmp_path):
    path = tmp_path / "m.pt"
    model.save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    expect_error(path, "m.pt", "corrupt or truncated")


def _write_native(path, model, state):
    metadata = {"format": FORMAT, "config": model.config.to_json(),
                "tokenizer": model.tokenizer.to_json(), "name": "edited", "training": "{}"}
    save_file(state, str(path), metadata=metadata)


def test_missing_unexpected_and_misshaped_tensors_are_named(model, tmp_path):
    state = {k: v.clone() for k, v in model.module.state_dict().items()}
    name = "encoder.layers.0.self_attn.q_proj.weight"

    missing = dict(state)
    del missing[name]
    _write_native(tmp_path / "missing.safetensors", model, missing)
    expect_error(tmp_path / "missing.safetensors", "missing tensor", name, "[32, 32]")

    extra = dict(state, **{"encoder.layers.9.bonus": torch.zeros(3)})
    _write_native(tmp_path / "extra.safetensors", model, extra)
    expect_error(tmp_path / "extra.safetensors", "unexpected tensor", "encoder.layers.9.bonus")

    wrong = dict(state, **{name: torch.zeros(16, 32)})
    _write_native(tmp_path / "wrong.safetensors", model, wrong)
    expect_error(tmp_path / "wrong.safetensors", name, "[16, 32]", "[32, 32]")


def test_unsupported_formats(model, tmp_path):
    state = model.module.state_dict()
    future = tmp_path / "future.safetensors"
    save_file({k: v.contiguous() for k, v in state.items()}, str(future),
              metadata={"format": "transformer-inspector/99", "config": model.config.to_json(),
                        "tokenizer": model.tokenizer.to_json()})
    expect_error(future, "unsupported checkpoint format", "transformer-inspector/99")
    onnx = tmp_path / "model.onnx"
    onnx.write_bytes(b"\x08\x07")
    expect_error(onnx, "model.onnx", "unsupported format", ".onnx")
    bare = tmp_path / "bare.safetensors"
    save_file({"w": torch.zeros(2)}, str(bare))
    expect_error(bare, "bare.safetensors", "Hugging Face")


class Payload:
    """Loading an instance of this class with plain pickle would run code; we must refuse."""


def test_pickled_code_is_refused_not_run(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"state_dict": {}, "config": "{}", "hook": Payload()}, path)
    expect_error(path, "evil.pt", "refused")


def test_bare_state_dict_without_config(model, tmp_path):
    path = tmp_path / "weights.pth"
    torch.save(model.module.state_dict(), path)
    expect_error(path, "weights.pth", "no model config")


def test_checksum_covers_names_and_values():
    a = {"x": torch.zeros(2), "y": torch.ones(3)}
    assert tensor_digest(a) == tensor_digest({"y": torch.ones(3), "x": torch.zeros(2)})
    assert tensor_digest(a) != tensor_digest({"x": torch.zeros(2), "y": torch.full((3,), 2.0)})
    assert tensor_digest(a) != tensor_digest({"z": torch.zeros(2), "y": torch.ones(3)})


def test_save_to_unwritable_path_names_it(model, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OSError) as info:
        model.save(blocker / "sub" / "m.safetensors")
    assert "m.safetensors" in str(info.value)


LEGACY = ((".norm_self.", ".self_attn_sublayer.norm."), (".norm_cross.", ".cross_attn_sublayer.norm."),
          (".norm_ffn.", ".ffn_sublayer.norm."), (".position_table.", ".embed.learned_positions."),
          (".embed_norm.", ".embed.norm."))


def legacy_name(name: str) -> str:
    for new, old in LEGACY:
        name = name.replace(new, old)
    return name


def test_a_file_with_the_names_of_earlier_versions_still_loads(tmp_path):
    """Before norms moved to their hook names, files named them after the sublayer wrapper."""
    model = make_tiny_model(seed=4, positions="learned", max_positions=32, embed_norm=True)
    state = {legacy_name(k): v.contiguous() for k, v in model.module.state_dict().items()}
    assert {"encoder.embed.learned_positions.weight", "decoder.embed.norm.bias",
            "decoder.layers.1.cross_attn_sublayer.norm.weight"} <= set(state)
    metadata = {"format": "transformer-inspector/1", "config": model.config.to_json(),
                "tokenizer": model.tokenizer.to_json(), "name": "old", "training": "{}",
                "sha256": tensor_digest(state)}  # over the stored names
    path = tmp_path / "old.safetensors"
    save_file(state, str(path), metadata=metadata)
    loaded = engine.load(path)
    np.testing.assert_array_equal(loaded.run(SENTENCE, "le chat").logits,
                                  model.run(SENTENCE, "le chat").logits)
    state["encoder.embed.norm.weight"] = state["encoder.embed.norm.weight"] + 1  # the checksum still guards
    save_file(state, str(path), metadata=metadata)
    with pytest.raises(CheckpointError, match="checksum"):
        engine.load(path)
