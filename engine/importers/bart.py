"""BART (and Marian, which shares its layer): post-LN encoder-decoders from Hugging Face folders.

BART: learned positions looked up at ``position + 2``, ``layernorm_embedding`` in both stacks,
GELU, ``final_logits_bias``, tokenizer from ``tokenizer.json``.
"""

from __future__ import annotations

from pathlib import Path

from .. import safe_json
from ..config import ModelConfig
from ..errors import CheckpointError
from ..tokenizer import HFTokenizer
from ..tokenizer_guards import library_errors
from . import HF_IMPORTERS
from .bart_layers import check_shared_tables, rename_bart_like
from .generation_files import GENERATE_MAX_LENGTH, read_generation
from .hf_files import (
    activation,
    build_model,
    check_layer_counts,
    integer,
    number,
    read_weights,
    same_value,
    token_id,
    tokenizer_config,
    tokenizer_json,
    vocab_rows,
)
from .tokenizer_files import check_vocab_file

BART_POSITION_OFFSET = 2


def bart_like_config(folder: Path, config: dict, family: str, **fields) -> ModelConfig:
    """The ModelConfig common to BART and Marian; ``fields`` are the family's own settings."""
    generation = read_generation(folder, config)
    try:
        settings = dict(
            architecture="encoder-decoder",
            vocab_size=integer(config, "vocab_size", folder),
            d_model=integer(config, "d_model", folder),
            n_heads=same_value(config, ("encoder_attention_heads", "decoder_attention_heads"),
                               folder, "attention heads"),
            n_encoder_layers=integer(config, "encoder_layers", folder),
            n_decoder_layers=integer(config, "decoder_layers", folder),
            d_ff=same_value(config, ("encoder_ffn_dim", "decoder_ffn_dim"), folder, "FFN width"),
            dropout=number(config, "dropout", folder, 0.0),
            attention_dropout=number(config, "attention_dropout", folder, 0.0),
            norm_placement="post",
            norm_eps=1e-5,  # nn.LayerNorm's default, which both families use
            final_norm=False,
            activation=activation(config.get("activation_function", "gelu"), folder),
            max_positions=integer(config, "max_position_embeddings", folder, 1024),
            scale_embeddings=bool(config.get("scale_embedding", False)),
            pad_token_id=integer(config, "pad_token_id", folder),
            bos_token_id=token_id(config.get("bos_token_id")),
            eos_token_id=generation.eos,
            decoder_start_token_id=token_id(generation.decoder_start),
            suppressed_token_ids=generation.banned,
            generation=generation.settings,
            max_decode_length=GENERATE_MAX_LENGTH - 1,  # generate()'s, when the folder states none
            extra={"family": family, "hf_model_type": config.get("model_type"),
                   "hf_architectures": config.get("architectures") or [],
                   "generation_ignored": generation.ignored},
        )
        settings.update(fields)
        return ModelConfig(**settings)
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"{folder.name}: config.json is missing or has an invalid "
                              f"value ({error})") from None


def convert_bart_like(folder: Path, model_config: ModelConfig, *, learned_positions: bool,
                      embed_norm: bool) -> tuple[ModelConfig, dict]:
    """Read and rename the weights; settles tie_embeddings and final_logits_bias from the file."""
    state = read_weights(folder)
    refusal = check_shared_tables(state)
    if refusal:
        raise CheckpointError(f"{folder.name}: {refusal}")
    check_layer_counts(state, r"(?:model\.)?(?P<stack>encoder|decoder)\.layers\.(?P<index>\d+)\.",
                       {"encoder": ("encoder_layers", model_config.n_encoder_layers),
                        "decoder": ("decoder_layers", model_config.n_decoder_layers)}, folder)
    try:
        renamed, tied = rename_bart_like(state, model_config.n_encoder_layers,
                                         model_config.n_decoder_layers,
                                         learned_positions=learned_positions, embed_norm=embed_norm)
    except KeyError as error:
        raise CheckpointError(f"{folder.name}: missing tensor {error.args[0]!r}") from None
    model_config.tie_embeddings = tied
    model_config.final_logits_bias = "final_logits_bias" in renamed
    return model_config, renamed


def bart_tokenizer(folder: Path, vocab_size: int | None = None) -> HFTokenizer:
    """tokenizer.json, or else the byte-level BPE of vocab.json + merges.txt (older uploads)."""
    tokenizer = tokenizer_json(folder, vocab_size)
    if tokenizer is not None:
        return tokenizer
    vocab, merges = folder / "vocab.json", folder / "merges.txt"
    if not (vocab.exists() and merges.exists()):
        raise CheckpointError(f"{folder.name}: BART needs tokenizer.json (or vocab.json and "
                              "merges.txt) in the model folder")
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors

    settings = tokenizer_config(folder)
    prefix_space = bool(settings.get("add_prefix_space", False))
    mask = settings.get("mask_token")  # a dict says whether "<mask>" swallows the space before it
    mask_lstrip = bool(mask.get("lstrip", False)) if isinstance(mask, dict) else False
    check_vocab_file(vocab, vocab_size)
    safe_json.check_file(merges)
    try:
        with library_errors("unreadable vocab.json/merges.txt"):
            backend = Tokenizer(models.BPE.from_file(str(vocab), str(merges)))
    except ValueError as error:
        raise CheckpointError(f"{folder.name}: {error}") from None
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=prefix_space)
    backend.decoder = decoders.ByteLevel()
    backend.add_special_tokens(["<s>", "<pad>", "</s>", "<unk>",
                                AddedToken("<mask>", lstrip=mask_lstrip, special=True)])
    bos, eos = backend.token_to_id("<s>"), backend.token_to_id("</s>")
    backend.post_processor = processors.RobertaProcessing(("</s>", eos), ("<s>", bos),
                                                          add_prefix_space=prefix_space)
    return HFTokenizer(backend, "BPE (byte-level)")


def import_bart(folder: Path, config: dict):
    tokenizer = bart_tokenizer(folder, vocab_rows(config, folder))
    model_config = bart_like_config(
        folder, config, "bart", positions="learned", position_offset=BART_POSITION_OFFSET,
        embed_norm=True, unk_token_id=tokenizer.token_to_id("<unk>"))
    model_config, state = convert_bart_like(folder, model_config, learned_positions=True,
                                            embed_norm=True)
    return build_model(folder, model_config, state, tokenizer)


HF_IMPORTERS["bart"] = import_bart
