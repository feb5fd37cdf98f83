"""Fuzz cases: ``make_case(format, base, seed, index, where)`` makes one damaged copy of a base.

Case ``index`` applies kind ``index % len(kinds)`` of its format, with a generator seeded by
(format, seed, index): every kind is covered in a few dozen cases, and a failing case is made
again, byte for byte, from its three numbers.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import time
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from engine.checkpoint import tensor_digest
from tests.engine.fuzz import damage
from tests.engine.fuzz.values import deep_document, dumps, mutate_json

NATIVE_FIELDS = ("vocab_size", "d_model", "n_heads", "d_head", "n_encoder_layers", "n_decoder_layers",
                 "d_ff", "dropout", "max_positions", "positions", "relative_buckets",
                 "relative_max_distance", "pad_token_id", "eos_token_id", "decoder_start_token_id",
                 "suppressed_token_ids", "architecture", "norm_eps", "max_decode_length",
                 "type_vocab_size", "local_layers", "attention_window", "rotary_fraction")
# config.json keys each family's importer reads, set even where a file lacks them.
CONFIG_HINTS = {
    "marian": ("vocab_size", "d_model", "encoder_layers", "decoder_layers", "encoder_attention_heads",
               "encoder_ffn_dim", "dropout", "activation_function", "max_position_embeddings",
               "pad_token_id", "eos_token_id", "decoder_start_token_id", "bad_words_ids",
               "model_type", "decoder_vocab_size"),
    "t5": ("vocab_size", "d_model", "num_heads", "d_kv", "num_layers", "num_decoder_layers", "d_ff",
           "dropout_rate", "layer_norm_epsilon", "relative_attention_num_buckets",
           "relative_attention_max_distance", "eos_token_id", "decoder_start_token_id",
           "feed_forward_proj", "tie_word_embeddings", "bad_words_ids", "model_type"),
    "bert": ("vocab_size", "hidden_size", "num_attention_heads", "num_hidden_layers",
             "intermediate_size", "hidden_dropout_prob", "layer_norm_eps", "hidden_act",
             "max_position_embeddings", "type_vocab_size", "pad_token_id", "architectures",
             "is_decoder", "position_embedding_type", "model_type"),
    "gpt2": ("vocab_size", "n_embd", "n_layer", "n_head", "n_positions", "n_inner",
             "layer_norm_epsilon", "activation_function", "resid_pdrop", "bos_token_id",
             "eos_token_id", "pad_token_id", "tie_word_embeddings", "model_type"),
}
CONFIG_HINTS.update(
    bart=CONFIG_HINTS["marian"], mt5=CONFIG_HINTS["t5"], roberta=CONFIG_HINTS["bert"],
    distilbert=("vocab_size", "dim", "n_layers", "n_heads", "hidden_dim", "dropout", "activation",
                "max_position_embeddings", "pad_token_id", "tie_word_embeddings", "architectures"),
    modernbert=("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
                "intermediate_size", "layer_types", "global_attn_every_n_layers", "local_attention",
                "rope_parameters", "global_rope_theta", "local_rope_theta", "rope_scaling",
                "attention_bias", "mlp_bias", "norm_eps", "pad_token_id", "cls_token_id",
                "sep_token_id", "max_position_embeddings", "hidden_activation"),
)


def config_hints(fmt: str) -> tuple[str, ...]:
    """The config.json keys of ``fmt``'s family ("roberta_files" is "roberta"'s)."""
    for family in sorted(CONFIG_HINTS, key=len, reverse=True):
        if fmt == family or fmt.startswith(family + "_"):
            return CONFIG_HINTS[family]
    return ()
OTHER_HINTS = {
    "tokenizer_config.json": ("extra_ids", "add_prefix_space", "unk_token", "eos_token", "pad_token",
                              "separate_vocabs", "do_lower_case", "strip_accents", "tokenizer_class",
                              "added_tokens_decoder", "mask_token", "add_bos_token"),
    "generation_config.json": ("bad_words_ids", "eos_token_id", "suppress_tokens",
                               "decoder_start_token_id"),
}


# ---- native .safetensors and .pt -------------------------------------------------------
def _native_metadata(rng: random.Random, metadata: dict) -> str:
    """One of the JSON documents a native file carries (config, tokenizer, training) damaged."""
    key = rng.choice(["config", "config", "tokenizer", "tokenizer", "training"])
    if rng.random() < 0.1:
        metadata[key] = rng.choice([deep_document(), "{", "[]", "null", "1e400", "", "\x00"])
        return f"metadata {key} = {metadata[key][:20]!r}"
    data = json.loads(metadata[key])
    if key == "tokenizer" and rng.random() < 0.6:
        described = damage.damage_tokenizer(rng, data)
    else:
        data, described = mutate_json(rng, data, NATIVE_FIELDS if key == "config" else ())
    metadata[key] = dumps(data)
    return f"metadata {key}: {described}"


def native_metadata(rng: random.Random, path: Path) -> str:
    state, metadata = load_file(str(path)), damage.read_safetensors(path)[0]["__metadata__"]
    described = _native_metadata(rng, metadata)
    save_file(state, str(path), metadata=metadata)
    return described


def native_tensors(rng: random.Random, path: Path) -> str:
    """A tensor damaged, and the checksum written again, as a hostile file would have it."""
    state, metadata = load_file(str(path)), damage.read_safetensors(path)[0]["__metadata__"]
    described = damage.damage_state(rng, state)
    metadata["sha256"] = tensor_digest(state)
    save_file({k: v.contiguous() for k, v in state.items()}, str(path), metadata=metadata)
    return described


def _torch_payload(rng: random.Random, path: Path, change) -> str:
    payload = torch.load(path, weights_only=True)
    described = change(rng, payload)
    torch.save(payload, path)
    return described


def pt_metadata(rng, path):
    def change(rng, payload):
        if rng.random() < 0.3:
            key = rng.choice(["config", "tokenizer", "training", "format", "name", "sha256"])
            payload[key] = rng.choice([1, None, [1], {"a": 1}, b"bytes", 3.5])
            return f"{key} = {payload[key]!r}"
        return _native_metadata(rng, payload)
    return _torch_payload(rng, path, change)


def pt_tensors(rng, path):
    def change(rng, payload):
        state = payload["state_dict"]
        described = (damage.foreign_value if rng.random() < 0.5 else damage.damage_state)(rng, state)
        try:
            payload["sha256"] = tensor_digest(state)
        except Exception:  # a value no digest can read: the loader must refuse it by name
            pass
        return described
    return _torch_payload(rng, path, change)


def pt_payload(rng, path):
    def change(rng, payload):
        if rng.random() < 0.5:
            payload.clear()
            payload.update(rng.choice([{"state_dict": {}}, {"config": "{}"}, {}]))
            return f"payload = {payload!r}"
        payload["state_dict"] = rng.choice([[1, 2], None, "weights", 3])
        return f"state_dict = {payload['state_dict']!r}"
    return _torch_payload(rng, path, change)


NATIVE_KINDS = (*damage.BYTE_DAMAGE, damage.header_entry, damage.header_entry,
                damage.header_metadata, damage.header_length, native_metadata, native_metadata,
                native_metadata, native_tensors, native_tensors)
PT_KINDS = (*damage.BYTE_DAMAGE, pt_metadata, pt_metadata, pt_tensors, pt_tensors,
            pt_tensors, pt_payload)


# ---- Hugging Face folders -------------------------------------------------------------
def _files(folder: Path, suffix: str = "") -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name.endswith(suffix))


def folder_bytes(rng, folder):
    path = rng.choice(_files(folder))
    return rng.choice(damage.BYTE_DAMAGE)(rng, path)


def folder_json(rng, folder):
    """A JSON file's field made hostile: config.json most often, with its importer's keys."""
    files = _files(folder, ".json")
    config = next((p for p in files if p.name == "config.json"), files[0])  # maybe in 0_Transformer/
    path = config if rng.random() < 0.5 else rng.choice(files)
    if rng.random() < 0.08:
        path.write_text(deep_document())
        return f"{path.name} nested 100,000 deep"
    data = json.loads(path.read_text(encoding="utf-8"))
    if path.name == "tokenizer.json" and rng.random() < 0.7:
        described = damage.damage_tokenizer(rng, data)
    else:
        hints = config_hints(folder.name.removeprefix("case-")) if path == config else \
            OTHER_HINTS.get(path.name, ())
        data, described = mutate_json(rng, data, hints)
    path.write_text(dumps(data), encoding="utf-8")
    return f"{path.name}: {described}"


def folder_files(rng, folder):
    """A file removed, or something that is no file in its place: a folder, a pipe (which
    would block a reader forever), a link to an endless device or to itself."""
    path = rng.choice(_files(folder))
    path.unlink()
    choice = rng.randrange(5)
    if choice == 0:
        path.mkdir()
    elif choice == 1:
        os.mkfifo(path)
    elif choice == 2:
        path.symlink_to("/dev/zero")
    elif choice == 3:
        path.symlink_to(path.name)
    return f"{path.name}: " + ("a folder", "a named pipe", "a link to /dev/zero",
                               "a link to itself", "removed")[choice]


def folder_weights(rng, folder):
    """The weights damaged: a header entry, a tensor, or a pytorch_model.bin of odd values."""
    files = _files(folder, ".safetensors") or _files(folder, ".bin")
    path = rng.choice(files)
    if path.suffix == ".bin":
        state = torch.load(path, weights_only=True)
        change = damage.foreign_value if rng.random() < 0.5 else damage.damage_state
        described = change(rng, state)
        torch.save(state, path)
        return f"{path.name}: {described}"
    state = load_file(str(path))
    choice = rng.random()
    if choice < 0.25:
        return damage.header_entry(rng, path)
    if choice < 0.4:
        described = damage.foreign_value(rng, state)
        path.unlink()
        torch.save(state, path.with_name("pytorch_model.bin"))
        return f"pytorch_model.bin: {described}"
    described = damage.damage_state(rng, state)
    save_file({k: v.contiguous() for k, v in state.items()}, str(path), metadata={"format": "pt"})
    return f"{path.name}: {described}"


FOLDER_KINDS = (folder_bytes, folder_bytes, folder_json, folder_json, folder_json, folder_json,
                folder_files, folder_weights, folder_weights)
KINDS = {"native": NATIVE_KINDS, "pt": PT_KINDS, "folder": FOLDER_KINDS}


def kinds_of(fmt: str) -> tuple:
    return KINDS.get(fmt, FOLDER_KINDS)


HARNESS_CHECKS = ("harness-hang", "harness-memory")


def _harness_check(fmt: str) -> None:
    """What the runner must catch, done on purpose: the fuzz tests check that it is caught."""
    if fmt == "harness-hang":
        time.sleep(3600)
    if fmt == "harness-memory":
        b"x" * (320 * 2**20)  # written, so resident while it lives


def make_case(fmt: str, base: Path, seed: int, index: int, where: Path) -> tuple[Path, str]:
    """Copy ``base`` into ``where`` and damage the copy; index -1 leaves it whole."""
    if fmt in HARNESS_CHECKS:
        _harness_check(fmt)
        return where, fmt
    target = where / (base.name if base.is_file() else f"case-{fmt}")
    if base.is_file():
        shutil.copyfile(base, target)
    else:
        shutil.copytree(base, target)
    if index < 0:
        return target, f"{fmt}: the undamaged base"
    kinds = kinds_of(fmt)
    kind = kinds[index % len(kinds)]
    described = kind(random.Random(f"{fmt}:{seed}:{index}"), target)
    return target, f"{fmt} #{index} {kind.__name__}: {described}"
