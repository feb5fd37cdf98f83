"""DistilBERT from Hugging Face folders: BERT's post-LN layer under its own names, no token types.

Its LayerNorms use eps 1e-12 whatever the config says, positions are a stored table (even when
``sinusoidal_pos_embds`` filled it), and the MLM head is ``vocab_transform`` -> the config's
activation -> ``vocab_layer_norm`` -> ``vocab_projector`` (tied to the token table unless
``tie_word_embeddings`` is false).
"""

from __future__ import annotations

from pathlib import Path

from ..config import ModelConfig
from ..errors import CheckpointError
from . import HF_IMPORTERS
from .encoder_files import (
    check_encoder_config,
    copy_linear,
    encoder_weights,
    folder_tokenizer_settings,
    tied,
)
from .hf_files import (
    activation,
    architectures,
    build_model,
    check_layer_counts,
    integer,
    number,
    vocab_rows,
)
from .tokenizer_files import wordpiece_tokenizer

PREFIX = "distilbert."
NORM_EPS = 1e-12  # fixed in transformers' DistilBERT modules
HEAD = ("vocab_transform", "vocab_layer_norm", "vocab_projector")  # outside the prefix
# Inside transformer.layer.{i} (Hugging Face) -> inside encoder.layers.{i} (the engine).
LAYER = {
    "attention.q_lin": "self_attn.q_proj",
    "attention.k_lin": "self_attn.k_proj",
    "attention.v_lin": "self_attn.v_proj",
    "attention.out_lin": "self_attn.out_proj",
    "sa_layer_norm": "norm_self",
    "ffn.lin1": "ffn.w1",
    "ffn.lin2": "ffn.w2",
    "output_layer_norm": "norm_ffn",
}


def rename_distilbert(state: dict, n_layers: int, head: bool, tie: bool) -> dict:
    """The engine's state dict; raises KeyError naming a missing Hugging Face tensor."""
    out = {"token_embedding.weight": state["embeddings.word_embeddings.weight"],
           "encoder.position_table.weight": state["embeddings.position_embeddings.weight"]}
    copy_linear(out, state, "embeddings.LayerNorm", "encoder.embed_norm")
    for i in range(n_layers):
        for hf_name, ours in LAYER.items():
            copy_linear(out, state, f"transformer.layer.{i}.{hf_name}", f"encoder.layers.{i}.{ours}")
    if head:
        copy_linear(out, state, "vocab_transform", "output_transform.dense")
        copy_linear(out, state, "vocab_layer_norm", "output_transform.norm")
        out["final_logits_bias"] = state["vocab_projector.bias"]
        if not tie:
            out["lm_head.weight"] = state["vocab_projector.weight"]
    return out


def import_distilbert(folder: Path, config: dict):
    check_encoder_config(folder, config, "DistilBERT")
    where, settings = folder_tokenizer_settings(folder)
    tokenizer = wordpiece_tokenizer(where, "DistilBERT", settings, vocab_rows(config, folder))
    state, used_prefix = encoder_weights(folder, PREFIX)
    classes = architectures(config)
    head = "vocab_transform.weight" in state or any(
        str(name).endswith("ForMaskedLM") for name in classes)
    try:
        act = activation(config.get("activation", "gelu"), folder)
        model_config = ModelConfig(
            architecture="encoder-only",
            vocab_size=integer(config, "vocab_size", folder),
            d_model=integer(config, "dim", folder),
            n_heads=integer(config, "n_heads", folder),
            n_encoder_layers=integer(config, "n_layers", folder),
            n_decoder_layers=0,
            d_ff=integer(config, "hidden_dim", folder),
            dropout=number(config, "dropout", folder, 0.0),
            attention_dropout=number(config, "attention_dropout", folder, 0.0),
            norm_placement="post",
            norm_eps=NORM_EPS,
            embed_norm=True,
            final_norm=False,
            activation=act,
            positions="learned",
            max_positions=integer(config, "max_position_embeddings", folder, 512),
            type_vocab_size=0,
            scale_embeddings=False,
            tie_embeddings=tied(config),
            output_head=head,
            output_transform=head,
            final_logits_bias=head,
            pad_token_id=integer(config, "pad_token_id", folder, 0),
            unk_token_id=tokenizer.token_to_id("[UNK]"),
            bos_token_id=None,
            eos_token_id=None,
            decoder_start_token_id=None,
            extra={"family": "distilbert", "hf_model_type": config.get("model_type"),
                   "hf_architectures": classes},
        )
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"{folder.name}: config.json is missing or has an invalid "
                              f"value ({error})") from None
    check_layer_counts(state, r"transformer\.layer\.(?P<index>\d+)\.",
                       {"encoder": ("n_layers", model_config.n_encoder_layers)}, folder)
    try:
        renamed = rename_distilbert(state, model_config.n_encoder_layers, head,
                                    model_config.tie_embeddings)
    except KeyError as error:
        name = error.args[0]
        name = name if name.startswith(HEAD) else used_prefix + name
        raise CheckpointError(f"{folder.name}: missing tensor {name!r}") from None
    return build_model(folder, model_config, renamed, tokenizer)


HF_IMPORTERS["distilbert"] = import_distilbert
