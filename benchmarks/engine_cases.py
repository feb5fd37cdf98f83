"""The engine's contenders: our models and transformers' of the same shapes, random weights.

Speed does not depend on the weights, so each pair is built from one shape (layers, heads,
widths, vocabulary) rather than converted: ours with ``engine.create`` and a word-level
tokenizer of that vocabulary, theirs from the family's config class. Both run on the same
token ids, at torch's default thread count, in inference mode. transformers is imported here
only (benchmarks, never the app).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

import engine


@dataclass(frozen=True)
class Shape:
    label: str
    vocab: int
    d_model: int
    heads: int
    encoder_layers: int
    decoder_layers: int
    d_ff: int
    tokens: int  # per side: source and target both have this many
    d_head: int | None = None


FULL = {
    "marian": Shape("Marian-size 6+6×512", 58101, 512, 8, 6, 6, 2048, 512),
    "t5": Shape("T5-small size", 32128, 512, 8, 6, 6, 2048, 512, d_head=64),
    "bert": Shape("BERT shape 6×12×384", 1000, 384, 12, 6, 0, 1536, 512),
    "gpt2": Shape("GPT-2-small shape", 50257, 768, 12, 0, 12, 3072, 512),
    "decode": Shape("Marian-size, 64-token source", 58101, 512, 8, 6, 6, 2048, 64),
}
TINY = {key: replace(shape, vocab=300, d_model=32, heads=4, encoder_layers=min(shape.encoder_layers, 2),
                     decoder_layers=min(shape.decoder_layers, 2), d_ff=64, tokens=12,
                     d_head=8 if shape.d_head else None)
        for key, shape in FULL.items()}
DECODE_TOKENS = {"full": 64, "tiny": 6}


def words(count: int) -> list[str]:
    return [f"w{i}" for i in range(count)]


def text_of(shape: Shape, tokens: int | None = None) -> str:
    """Text of ``tokens`` positions with the end token (default: the shape's length)."""
    vocabulary = words(shape.vocab - 4)  # the word-level tokenizer's 4 specials come first
    count = (tokens or shape.tokens) - 1
    return " ".join(vocabulary[(i * 7919) % len(vocabulary)] for i in range(count))


# ---- ours --------------------------------------------------------------------------------
def our_model(family: str, shape: Shape, *, stop: bool = True):
    """An engine model of ``family``'s layout at ``shape``; ``stop=False``: no end token, so a
    greedy decode always runs its whole budget."""
    decoder_only = family == "gpt2"
    tokenizer = engine.word_level_tokenizer(words(shape.vocab - 4), append_eos=not decoder_only,
                                            prepend_bos=decoder_only)
    common = dict(vocab_size=tokenizer.vocab_size, d_model=shape.d_model, n_heads=shape.heads,
                  n_encoder_layers=shape.encoder_layers, n_decoder_layers=shape.decoder_layers,
                  d_ff=shape.d_ff, dropout=0.0, eos_token_id=3 if stop else None)
    if family in ("marian", "decode"):
        config = engine.ModelConfig(architecture="encoder-decoder", norm_placement="post",
                                    final_norm=False, activation="swish", positions="sinusoidal",
                                    sinusoid_layout="split", max_positions=1024, scale_embeddings=True,
                                    final_logits_bias=True, decoder_start_token_id=0, **common)
    elif family == "t5":
        config = engine.ModelConfig(architecture="encoder-decoder", d_head=shape.d_head,
                                    norm_placement="pre", norm_type="rmsnorm", norm_eps=1e-6,
                                    norm_bias=False, final_norm=True, activation="relu",
                                    positions="relative", scale_embeddings=False, scale_attention=False,
                                    bias=False, output_scale=shape.d_model ** -0.5, bos_token_id=None,
                                    decoder_start_token_id=0, **common)
    elif family == "bert":
        config = engine.ModelConfig(architecture="encoder-only", positions="learned", max_positions=2048,
                                    activation="gelu", embed_norm=True, scale_embeddings=False,
                                    output_head=False, **common)
    elif family == "gpt2":
        config = engine.ModelConfig(architecture="decoder-only", norm_placement="pre", final_norm=True,
                                    activation="gelu_tanh", positions="learned", max_positions=1024,
                                    scale_embeddings=False, **common)
    else:
        raise ValueError(f"unknown family {family!r}")
    return engine.create(config, tokenizer, f"{shape.label} (random)")


def ids_of(trace) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The (source, target) ids a trace ran on, as the reference's inputs."""
    source = torch.tensor([trace.source_ids]) if trace.source_ids else None
    target = torch.tensor([trace.target_ids]) if trace.target_ids else None
    return source, target


# ---- theirs ------------------------------------------------------------------------------
def reference_model(family: str, shape: Shape, vocab: int):
    """transformers' model of the same shape, eager attention, eval mode."""
    import transformers as tf

    if family in ("marian", "decode"):
        config = tf.MarianConfig(
            vocab_size=vocab, d_model=shape.d_model, encoder_layers=shape.encoder_layers,
            decoder_layers=shape.decoder_layers, encoder_attention_heads=shape.heads,
            decoder_attention_heads=shape.heads, encoder_ffn_dim=shape.d_ff, decoder_ffn_dim=shape.d_ff,
            activation_function="swish", max_position_embeddings=1024, scale_embedding=True,
            pad_token_id=0, eos_token_id=3, decoder_start_token_id=0, forced_eos_token_id=None,
            dropout=0.0, attn_implementation="eager")
        model = tf.MarianMTModel(config)
    elif family == "t5":
        config = tf.T5Config(vocab_size=vocab, d_model=shape.d_model, d_kv=shape.d_head, d_ff=shape.d_ff,
                             num_layers=shape.encoder_layers, num_decoder_layers=shape.decoder_layers,
                             num_heads=shape.heads, feed_forward_proj="relu", dropout_rate=0.0,
                             pad_token_id=0, eos_token_id=3, decoder_start_token_id=0,
                             attn_implementation="eager")
        model = tf.T5ForConditionalGeneration(config)
    elif family == "bert":
        config = tf.BertConfig(vocab_size=vocab, hidden_size=shape.d_model,
                               num_hidden_layers=shape.encoder_layers, num_attention_heads=shape.heads,
                               intermediate_size=shape.d_ff, max_position_embeddings=2048,
                               attn_implementation="eager")
        model = tf.BertModel(config)
    elif family == "gpt2":
        config = tf.GPT2Config(vocab_size=vocab, n_embd=shape.d_model, n_layer=shape.decoder_layers,
                               n_head=shape.heads, n_inner=shape.d_ff, n_positions=1024,
                               activation_function="gelu_new", resid_pdrop=0.0, embd_pdrop=0.0,
                               attn_pdrop=0.0, bos_token_id=None, eos_token_id=None,
                               attn_implementation="eager")
        model = tf.GPT2LMHeadModel(config)
    else:
        raise ValueError(f"no reference for {family!r}")
    return model.eval()


def shared_gpt2(shape: Shape):
    """Our GPT-2-shaped model and transformers' GPT2LMHeadModel with the same random weights.

    Theirs is initialised, its norms' gains and every bias are drawn too (GPT-2's initial ones
    and zeros would leave them untested), then the engine's own GPT-2 importer renames its
    tensors into ours."""
    from engine.importers.gpt2 import rename_gpt2

    ours = our_model("gpt2", shape)
    theirs = reference_model("gpt2", shape, ours.config.vocab_size)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, tensor in theirs.named_parameters():
            if name.endswith("bias") or ".ln_" in name:
                base = 1.0 if name.endswith("weight") else 0.0
                tensor.copy_(base + 0.1 * torch.randn(tensor.shape, generator=generator))
    state = rename_gpt2(theirs.state_dict(), ours.config, Path("random GPT-2"))
    ours.module.load_state_dict(state, strict=False)
    missing = set(ours.module.state_dict()) - set(state) - set(dict(ours.module.named_buffers()))
    if missing - {"lm_head.weight"}:  # a tied head reads token_embedding.weight
        raise RuntimeError(f"transformers' GPT-2 did not fill {sorted(missing)}")
    return ours, theirs


def lens_bridge(theirs, compatibility: bool):
    """TransformerLens 4's bridge around a copy of ``theirs`` (it rewires the model in place).

    ``boot_transformers`` needs a model name on the Hub for its tokenizer; offline, the same
    assembly (GPT-2 adapter, eager attention, transformers driver) comes from
    ``build_bridge_from_module``. Defaults as booted: raw weights; ``compatibility``:
    ``enable_compatibility_mode()`` with its defaults, HookedTransformer's from_pretrained
    processing (fold_ln, center_writing_weights, center_unembed, fold_value_biases)."""
    import copy

    from transformer_lens.model_bridge.sources._bridge_builder import build_bridge_from_module

    model = copy.deepcopy(theirs)
    bridge = build_bridge_from_module(model, "GPT2LMHeadModel", hf_config=model.config)
    if compatibility:
        bridge.enable_compatibility_mode(disable_warnings=True)
    return bridge.eval()


def reference_forward(model, source: torch.Tensor, target: torch.Tensor | None):
    """One forward returning attentions and hidden states, as numpy (what notebook tools read)."""
    def run():
        with torch.inference_mode():
            if target is None:
                out = model(source, output_attentions=True, output_hidden_states=True)
            else:
                out = model(input_ids=source, decoder_input_ids=target, output_attentions=True,
                            output_hidden_states=True)
        arrays = [value for value in out.values() if isinstance(value, torch.Tensor)]
        for value in out.values():
            if isinstance(value, tuple):
                arrays += [item for item in value if isinstance(item, torch.Tensor)]
        if not any("attention" in key for key in out):
            raise RuntimeError("the reference returned no attentions (not eager?)")
        return [array.numpy() for array in arrays]
    return run


def reference_generate(model, source: torch.Tensor, new_tokens: int):
    """Greedy generate() of exactly ``new_tokens`` tokens, with its KV cache."""
    def run():
        with torch.inference_mode():
            out = model.generate(source, max_new_tokens=new_tokens, min_new_tokens=new_tokens,
                                 do_sample=False, num_beams=1)
        if out.shape[1] != new_tokens + 1:
            raise RuntimeError(f"generate() made {out.shape[1] - 1} tokens, not {new_tokens}")
        return out
    return run


# ---- the FLOP floor --------------------------------------------------------------------
def forward_flops(model, source: str, target: str | None) -> float:
    """Floating-point operations of the matrix products of one unrecorded run with its logits
    read (torch's counter)."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        np.asarray(model.run(source, target, record=False).logits)
    return float(counter.get_total_flops())


MATMUL = (1024, 2048, 512)  # (m, n, k): as wide as the model's projections


def matmul_case():
    """A float32 matrix product of the model's widths; its FLOPs (2 m n k)."""
    m, n, k = MATMUL
    a, b = torch.randn(m, k), torch.randn(k, n)
    out = torch.empty(m, n)

    def run():
        for _ in range(4):
            torch.mm(a, b, out=out)
    return run, 4 * 2.0 * m * n * k


# ---- memory --------------------------------------------------------------------------------
def trace_bytes(trace) -> tuple[int, int, int]:
    """(bytes every kept array's ``nbytes`` adds up to, bytes of distinct memory they occupy,
    bytes of the arrays computed when first read, which are not read here; logits not yet
    computed count in neither)."""
    arrays = [*trace.attention.values(), *trace.activations.values()]
    if trace.has_logits and trace.logits_computed:  # else reading them would compute them
        arrays.append(trace.logits)
    deferred = sum(array.nbytes for array in arrays if not isinstance(array, np.ndarray))
    arrays = [array for array in arrays if isinstance(array, np.ndarray)]
    total = sum(array.nbytes for array in arrays)
    spans = []
    for array in arrays:
        if array.nbytes == 0:
            continue
        start = array.__array_interface__["data"][0]
        low = start + sum(min(0, (n - 1) * s) for n, s in zip(array.shape, array.strides, strict=True))
        high = start + sum(max(0, (n - 1) * s) for n, s in zip(array.shape, array.strides, strict=True))
        spans.append((low, high + array.itemsize))
    distinct, reach = 0, -1
    for low, high in sorted(spans):
        if low >= reach:
            distinct += high - low
        elif high > reach:
            distinct += high - reach
        reach = max(reach, high)
    return total, distinct, deferred
