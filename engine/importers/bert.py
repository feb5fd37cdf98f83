"""BERT and RoBERTa from Hugging Face folders: post-LN encoders with an optional MLM head.

Embeddings are word + token type (segment 0) + learned position, then a LayerNorm; each layer
is post-LN attention and GELU FFN. The MLM head, when the file has one, is dense -> activation
-> LayerNorm -> the (tied) token table plus a bias. RoBERTa is BERT's layer under ``roberta.``,
with positions looked up at ``position + padding_idx + 1``, a byte-level BPE tokenizer with
``<s> $A </s>``, and an MLM head that always uses exact GELU.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tokenizers import processors

from ..config import ModelConfig
from ..errors import CheckpointError
from ..tokenizer import HFTokenizer
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
    token_id,
    vocab_rows,
)
from .tokenizer_files import byte_level_tokenizer, special_token, wordpiece_tokenizer

# Inside encoder.layer.{i} (Hugging Face) -> inside encoder.layers.{i} (the engine).
LAYER = {
    "attention.self.query": "self_attn.q_proj",
    "attention.self.key": "self_attn.k_proj",
    "attention.self.value": "self_attn.v_proj",
    "attention.output.dense": "self_attn.out_proj",
    "attention.output.LayerNorm": "norm_self",  # post-LN: after attention
    "intermediate.dense": "ffn.w1",
    "output.dense": "ffn.w2",
    "output.LayerNorm": "norm_ffn",
}
ROBERTA_SPECIALS = {"bos_token": "<s>", "eos_token": "</s>", "sep_token": "</s>",
                    "cls_token": "<s>", "unk_token": "<unk>", "pad_token": "<pad>",
                    "mask_token": "<mask>"}


@dataclass(frozen=True)
class Family:
    """What BERT and RoBERTa name differently."""

    name: str
    title: str  # for messages
    prefix: str  # of the base model's tensors in a ...ForMaskedLM file
    head: str  # the MLM head's module
    transform: str  # its dense layer, inside ``head``
    norm: str  # its LayerNorm, inside ``head``
    head_activation: str | None  # None: the config's hidden_act
    pad: int  # transformers' default pad_token_id
    unk: str


BERT = Family("bert", "BERT", "bert.", "cls.predictions", "transform.dense", "transform.LayerNorm", None,
              0, "[UNK]")
ROBERTA = Family("roberta", "RoBERTa", "roberta.", "lm_head", "dense", "layer_norm", "gelu", 1,
                 "<unk>")
MLM_ARCHITECTURES = ("ForMaskedLM", "ForPreTraining")  # these promise an MLM head


def roberta_processing(backend, settings: dict):
    """``<s> $A </s>``, as transformers' RobertaTokenizer adds it."""
    sep = special_token(settings, "sep_token", ROBERTA_SPECIALS) or "</s>"
    cls = special_token(settings, "cls_token", ROBERTA_SPECIALS) or "<s>"
    sep_id, cls_id = backend.token_to_id(sep), backend.token_to_id(cls)
    if sep_id is None or cls_id is None:
        raise CheckpointError(f"the RoBERTa vocabulary has no {cls if cls_id is None else sep} token")
    return processors.RobertaProcessing(
        (sep, sep_id), (cls, cls_id),
        trim_offsets=bool(settings.get("trim_offsets", True)),
        add_prefix_space=bool(settings.get("add_prefix_space", False)))


def family_tokenizer(folder: Path, family: Family, vocab_size: int) -> HFTokenizer:
    where, settings = folder_tokenizer_settings(folder)
    if family is ROBERTA:
        return byte_level_tokenizer(where, family.title, settings, ROBERTA_SPECIALS,
                                    roberta_processing, vocab_size)
    return wordpiece_tokenizer(where, family.title, settings, vocab_size)


def rename_bert(state: dict, family: Family, n_layers: int, type_vocab_size: int,
                head: bool, tie: bool) -> dict:
    """The engine's state dict; raises KeyError naming a missing Hugging Face tensor."""
    out = {"token_embedding.weight": state["embeddings.word_embeddings.weight"],
           "encoder.position_table.weight": state["embeddings.position_embeddings.weight"]}
    if type_vocab_size:
        out["encoder.token_type_table.weight"] = state["embeddings.token_type_embeddings.weight"]
    copy_linear(out, state, "embeddings.LayerNorm", "encoder.embed_norm")
    for i in range(n_layers):
        for hf_name, ours in LAYER.items():
            copy_linear(out, state, f"encoder.layer.{i}.{hf_name}", f"encoder.layers.{i}.{ours}")
    if head:
        copy_linear(out, state, f"{family.head}.{family.transform}", "output_transform.dense")
        copy_linear(out, state, f"{family.head}.{family.norm}", "output_transform.norm")
        bias = f"{family.head}.bias"  # older files also keep it as the decoder's own bias
        out["final_logits_bias"] = state.get(bias, state.get(f"{family.head}.decoder.bias"))
        if out["final_logits_bias"] is None:
            raise KeyError(bias)
        if not tie:
            out["lm_head.weight"] = state[f"{family.head}.decoder.weight"]
    return out


def import_bert_like(folder: Path, config: dict, family: Family):
    check_encoder_config(folder, config, family.title)
    tokenizer = family_tokenizer(folder, family, vocab_rows(config, folder))
    state, used_prefix = encoder_weights(folder, family.prefix)
    classes = architectures(config)
    head = f"{family.head}.{family.transform}.weight" in state or any(
        str(name).endswith(MLM_ARCHITECTURES) for name in classes)
    pad = integer(config, "pad_token_id", folder, family.pad)
    offset = pad + 1 if family is ROBERTA else 0  # RoBERTa counts positions after padding_idx
    try:
        hidden_act = activation(config.get("hidden_act", "gelu"), folder)
        model_config = ModelConfig(
            architecture="encoder-only",
            vocab_size=integer(config, "vocab_size", folder),
            d_model=integer(config, "hidden_size", folder),
            n_heads=integer(config, "num_attention_heads", folder),
            n_encoder_layers=integer(config, "num_hidden_layers", folder),
            n_decoder_layers=0,
            d_ff=integer(config, "intermediate_size", folder),
            dropout=number(config, "hidden_dropout_prob", folder, 0.0),
            attention_dropout=number(config, "attention_probs_dropout_prob", folder, 0.0),
            norm_placement="post",
            norm_eps=number(config, "layer_norm_eps", folder, 1e-12),
            embed_norm=True,
            final_norm=False,
            activation=hidden_act,
            positions="learned",
            position_offset=offset,
            max_positions=integer(config, "max_position_embeddings", folder, 512) - offset,
            type_vocab_size=integer(config, "type_vocab_size", folder, 2),
            scale_embeddings=False,
            tie_embeddings=tied(config),
            output_head=head,
            output_transform=head,
            output_activation=family.head_activation if head else None,
            final_logits_bias=head,
            pad_token_id=pad,
            unk_token_id=tokenizer.token_to_id(family.unk),
            bos_token_id=token_id(config.get("bos_token_id")),
            eos_token_id=token_id(config.get("eos_token_id")),
            decoder_start_token_id=None,
            extra={"family": family.name, "hf_model_type": config.get("model_type"),
                   "hf_architectures": classes},
        )
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"{folder.name}: config.json is missing or has an invalid "
                              f"value ({error})") from None
    check_layer_counts(state, r"encoder\.layer\.(?P<index>\d+)\.",
                       {"encoder": ("num_hidden_layers", model_config.n_encoder_layers)}, folder)
    try:
        renamed = rename_bert(state, family, model_config.n_encoder_layers,
                              model_config.type_vocab_size, head, model_config.tie_embeddings)
    except KeyError as error:
        name = error.args[0]
        name = name if name.startswith(family.head) else used_prefix + name
        raise CheckpointError(f"{folder.name}: missing tensor {name!r}") from None
    return build_model(folder, model_config, renamed, tokenizer)


def import_bert(folder: Path, config: dict):
    return import_bert_like(folder, config, BERT)


def import_roberta(folder: Path, config: dict):
    return import_bert_like(folder, config, ROBERTA)


HF_IMPORTERS["bert"] = import_bert
HF_IMPORTERS["roberta"] = import_roberta
