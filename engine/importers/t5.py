"""T5 (v1.0, v1.1 / FLAN, and mT5) from Hugging Face folders.

Pre-norm RMSNorm without mean or bias, no 1/sqrt(d) in attention, no biases anywhere, and one
relative position bias table per stack, stored in block 0 and reused by every layer
(bidirectional buckets in the encoder, causal in the decoder, none in cross-attention).
v1.0: ReLU with ``wi``/``wo``, the head tied to the token table and the decoder output scaled
by ``d_model**-0.5``. v1.1: gated-gelu (``wi_0`` activated, ``wi_1`` linear) and no scale.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..config import ModelConfig
from ..errors import CheckpointError
from ..sentencepiece_tokenizer import SentencePieceTokenizer
from ..tokenizer import Tokenizer
from . import HF_IMPORTERS
from .generation_files import GENERATE_MAX_LENGTH, read_generation
from .hf_files import (
    activation,
    build_model,
    check_layer_counts,
    integer,
    number,
    pick,
    read_bytes,
    read_weights,
    separate_head,
    token_id,
    tokenizer_config,
    tokenizer_json,
    vocab_rows,
)

ATTENTION = {"q": "q_proj", "k": "k_proj", "v": "v_proj", "o": "out_proj"}
FFN = {"wi": "w1", "wi_0": "w1", "wi_1": "w3", "wo": "w2"}
NORMS = {"self_attn": "norm_self", "cross_attn": "norm_cross", "ffn": "norm_ffn"}  # before each sublayer


def feed_forward(config: dict, folder: Path) -> tuple[str, bool]:
    """``feed_forward_proj`` ("relu", "gated-gelu", "gated-silu") -> (activation, gated)."""
    default = "gated-gelu" if config.get("model_type") == "mt5" else "relu"
    proj = config.get("feed_forward_proj", default)
    if not isinstance(proj, str):
        raise CheckpointError(f"{folder.name}: config.json: feed_forward_proj={proj!r} is not a name")
    parts = proj.split("-")
    gated = parts[0] == "gated" and len(parts) == 2
    name = "gelu_new" if proj == "gated-gelu" else parts[-1]  # T5's own legacy spelling
    return activation(name, folder), gated


def scales_decoder_output(config: dict) -> bool:
    """T5 v1.0 (tied head) scales by d_model**-0.5 before the head; v1.1 and mT5 do not."""
    if config.get("model_type") == "mt5":
        return False
    if "scale_decoder_outputs" in config:
        return bool(config["scale_decoder_outputs"])
    return config.get("tie_word_embeddings", True) is not False


def t5_tokenizer(folder: Path, model_vocab_size: int) -> Tokenizer:
    """tokenizer.json if present, else spiece.model (whose ids are the model's ids)."""
    tokenizer = tokenizer_json(folder, model_vocab_size)
    if tokenizer is not None:
        return tokenizer
    path = folder / "spiece.model"
    if not path.exists():
        raise CheckpointError(f"{folder.name}: T5 needs tokenizer.json or spiece.model "
                              "in the model folder")
    settings = tokenizer_config(folder)
    proto = read_bytes(path)
    try:
        pieces = SentencePieceTokenizer(proto, None).processor.vocab_size()
    except (RuntimeError, ValueError, TypeError) as error:
        raise CheckpointError(f"{folder.name}/{path.name}: unusable SentencePiece model ({error})") from None
    room = max(0, model_vocab_size - pieces)  # the sentinels follow the pieces in the table
    extra_ids = settings.get("extra_ids")
    if extra_ids is None:  # transformers' default is 100 sentinels
        extra_ids = min(100, room)
    if not isinstance(extra_ids, int) or isinstance(extra_ids, bool) or not 0 <= extra_ids <= room:
        raise CheckpointError(f"{folder.name}: tokenizer_config.json: extra_ids={extra_ids!r} must "
                              f"be a whole number from 0 to {room} (vocab_size {model_vocab_size} "
                              f"minus the {pieces} pieces of {path.name})")
    try:
        return SentencePieceTokenizer(proto, None, extra_ids=extra_ids)
    except (RuntimeError, ValueError, TypeError) as error:
        raise CheckpointError(f"{folder.name}/{path.name}: unusable SentencePiece model ({error})") from None


def rename_t5(state: dict[str, torch.Tensor], n_encoder: int, n_decoder: int) -> dict:
    """The engine's state dict; raises KeyError naming a missing Hugging Face tensor."""
    tokens = pick(state, "shared.weight", "encoder.embed_tokens.weight", "decoder.embed_tokens.weight")
    out = {"token_embedding.weight": tokens}
    for stack, count in (("encoder", n_encoder), ("decoder", n_decoder)):
        sublayers = ["self_attn", "ffn"] if stack == "encoder" else ["self_attn", "cross_attn", "ffn"]
        for i in range(count):
            for index, sublayer in enumerate(sublayers):
                source = f"{stack}.block.{i}.layer.{index}"
                target = f"{stack}.layers.{i}"
                out[f"{target}.{NORMS[sublayer]}.weight"] = state[f"{source}.layer_norm.weight"]
                if sublayer == "ffn":
                    for hf_name, ours in FFN.items():
                        key = f"{source}.DenseReluDense.{hf_name}.weight"
                        if key in state:
                            out[f"{target}.ffn.{ours}.weight"] = state[key]
                    continue
                hf_attention = "SelfAttention" if sublayer == "self_attn" else "EncDecAttention"
                for hf_name, ours in ATTENTION.items():
                    hf_key = f"{source}.{hf_attention}.{hf_name}.weight"
                    out[f"{target}.{sublayer}.{ours}.weight"] = state[hf_key]
        bias = f"{stack}.block.0.layer.0.SelfAttention.relative_attention_bias.weight"
        out[f"{stack}.relative_bias.embedding.weight"] = state[bias]
        out[f"{stack}.final_norm.weight"] = state[f"{stack}.final_layer_norm.weight"]
    head = separate_head(state, "lm_head.weight", tokens)
    if head is not None:
        out["lm_head.weight"] = head
    return out


def import_t5(folder: Path, config: dict):
    vocab_size, d_model = vocab_rows(config, folder), integer(config, "d_model", folder)
    n_encoder = integer(config, "num_layers", folder)
    n_decoder = integer(config, "num_decoder_layers", folder, None) or n_encoder
    tokenizer = t5_tokenizer(folder, vocab_size)
    act, gated = feed_forward(config, folder)
    generation = read_generation(folder, config, eos_default=1)
    try:
        model_config = ModelConfig(
            architecture="encoder-decoder",
            vocab_size=vocab_size,
            d_model=d_model,
            n_heads=integer(config, "num_heads", folder),
            d_head=integer(config, "d_kv", folder),
            n_encoder_layers=n_encoder,
            n_decoder_layers=n_decoder,
            d_ff=integer(config, "d_ff", folder),
            dropout=number(config, "dropout_rate", folder, 0.0),
            norm_placement="pre",
            norm_type="rmsnorm",
            norm_eps=number(config, "layer_norm_epsilon", folder, 1e-6),
            norm_bias=False,
            final_norm=True,
            activation=act,
            gated_ffn=gated,
            positions="relative",
            relative_buckets=integer(config, "relative_attention_num_buckets", folder, 32),
            relative_max_distance=integer(config, "relative_attention_max_distance", folder, 128),
            scale_embeddings=False,
            scale_attention=False,
            bias=False,
            output_scale=d_model ** -0.5 if d_model > 0 and scales_decoder_output(config) else 1.0,
            pad_token_id=integer(config, "pad_token_id", folder, 0),
            unk_token_id=tokenizer.token_to_id("<unk>"),
            bos_token_id=None,
            eos_token_id=generation.eos,
            decoder_start_token_id=token_id(generation.decoder_start if generation.decoder_start
                                            is not None else config.get("pad_token_id", 0)),
            suppressed_token_ids=generation.banned,
            generation=generation.settings,
            max_decode_length=GENERATE_MAX_LENGTH - 1,  # generate()'s, when the folder states none
            extra={"family": str(config.get("model_type", "t5")), "hf_model_type": config.get("model_type"),
                   "hf_architectures": config.get("architectures") or [],
                   "feed_forward_proj": config.get("feed_forward_proj", "relu"),
                   "generation_ignored": generation.ignored},
        )
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"{folder.name}: config.json is missing or has an invalid "
                              f"value ({error})") from None
    state = read_weights(folder)
    check_layer_counts(state, r"(?P<stack>encoder|decoder)\.block\.(?P<index>\d+)\.",
                       {"encoder": ("num_layers", n_encoder),
                        "decoder": ("num_decoder_layers", n_decoder)}, folder)
    try:
        renamed = rename_t5(state, model_config.n_encoder_layers, model_config.n_decoder_layers)
    except KeyError as error:
        raise CheckpointError(f"{folder.name}: missing tensor {error.args[0]!r}") from None
    model_config.tie_embeddings = "lm_head.weight" not in renamed
    return build_model(folder, model_config, renamed, tokenizer)


HF_IMPORTERS["t5"] = import_t5
HF_IMPORTERS["mt5"] = import_t5  # multilingual T5: the v1.1 architecture under its own name
