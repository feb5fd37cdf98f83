"""ModelConfig: every architectural choice of the engine, as one JSON-serialisable dataclass.

The defaults are the base model of "Attention Is All You Need" (Vaswani et al., 2017):
encoder-decoder, 6+6 layers, d_model 512, 8 heads, d_ff 2048, post-LN, ReLU,
sinusoidal positions, embeddings scaled by sqrt(d_model) and tied to the output projection.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field

from . import safe_json
from .generation import GenerationSettings
from .rope_scaling import check_scaling

ARCHITECTURES = ("encoder-decoder", "encoder-only", "decoder-only")
NORM_PLACEMENTS = ("post", "pre")
NORM_TYPES = ("layernorm", "rmsnorm")
ACTIVATIONS = ("relu", "gelu", "gelu_tanh", "silu", "swish")
POSITIONS = ("sinusoidal", "learned", "relative", "rotary", "none")
SINUSOID_LAYOUTS = ("interleaved", "split")
# (least, most) of every size: far beyond any published model, yet small enough that a config
# from a file cannot make the engine loop for hours (layers, decoding) before its tensors are
# compared with the file's, and that shapes cannot overflow.
SIZE_LIMITS = {
    "vocab_size": (1, 2**24),
    "d_model": (1, 2**16),
    "n_heads": (1, 2**10),
    "n_kv_heads": (1, 2**10),
    "d_head": (1, 2**14),
    "n_encoder_layers": (0, 512),
    "n_decoder_layers": (0, 512),
    "d_ff": (1, 2**20),
    "max_positions": (1, 2**24),
    "position_offset": (0, 2**16),
    "relative_buckets": (1, 2**16),
    "relative_max_distance": (1, 2**24),
    "type_vocab_size": (0, 2**16),
    "attention_window": (1, 2**24),
    "max_decode_length": (0, 4096),
}
TOKEN_ID_FIELDS = ("pad_token_id", "unk_token_id", "bos_token_id", "eos_token_id",
                   "decoder_start_token_id")


@dataclass
class ModelConfig:
    """Architecture of a Transformer. ``to_json``/``from_json`` round-trip exactly."""

    architecture: str = "encoder-decoder"
    vocab_size: int = 37000
    d_model: int = 512
    n_heads: int = 8
    n_kv_heads: int | None = None  # grouped-query attention: key/value heads; None: n_heads
    d_head: int | None = None  # None: d_model // n_heads (T5 sets it independently)
    n_encoder_layers: int = 6
    n_decoder_layers: int = 6
    d_ff: int = 2048
    dropout: float = 0.1
    attention_dropout: float = 0.0

    norm_placement: str = "post"
    norm_type: str = "layernorm"
    norm_eps: float = 1e-5
    embed_norm: bool = False  # a norm right after token + position embedding (BART, BERT)
    final_norm: bool | None = None  # None: present exactly when norm_placement == "pre"

    activation: str = "relu"
    gated_ffn: bool = False  # FFN(x) = W2 (act(W1 x) * W3 x): GEGLU, SwiGLU, ReGLU

    positions: str = "sinusoidal"
    sinusoid_layout: str = "interleaved"  # "split": sin in the first half, cos in the second (Marian)
    max_positions: int = 1024
    position_offset: int = 0  # learned tables looked up at pos + offset (BART: 2)
    relative_buckets: int = 32
    relative_max_distance: int = 128
    # Rotary positions (RoFormer; Llama, ModernBERT): q and k rotate by position inside attention.
    rope_theta: float = 10000.0
    local_rope_theta: float | None = None  # the base on local-window layers (ModernBERT, Gemma 3)
    rotary_fraction: float = 1.0  # share of each head's dimensions that rotate (GPT-NeoX)
    rope_scaling: dict | None = None  # long-context frequency scaling; see engine/rope_scaling.py
    type_vocab_size: int = 0  # BERT token types: segment 0's vector is added at every position

    scale_embeddings: bool = True  # multiply token embeddings by sqrt(d_model)
    scale_attention: bool = True  # divide q.k by sqrt(d_head); T5 does not
    bias: bool = True  # biases in the attention and FFN projections
    qkv_bias: bool | None = None  # q, k and v projections; None: as bias (Qwen2: only these)
    out_bias: bool | None = None  # the attention output projection; None: as bias
    ffn_bias: bool | None = None  # the FFN projections; None: as bias
    norm_bias: bool = True  # False for RMSNorm-style gains without bias
    tie_embeddings: bool = True  # output projection shares the token embedding matrix
    output_scale: float = 1.0  # multiply the final hidden state before the output projection
    final_logits_bias: bool = False
    output_head: bool = True  # False: an encoder-only model without a language-model head
    # A BERT-style MLM head: dense -> activation -> norm before the output projection.
    output_transform: bool = False
    output_activation: str | None = None  # None: the model's activation
    output_transform_bias: bool = True
    first_attention_norm: bool = True  # False: layer 0 has no norm before attention (ModernBERT)
    # x + attn(norm_self(x)) + ffn(norm_ffn(x)) in one step, without resid_mid (GPT-NeoX)
    parallel_blocks: bool = False
    qk_norm: bool = False  # an RMSNorm over each head's q and k before rotary (Qwen3)
    # Gemma: norm gains stored as offsets (x̂ · (offset + w)), a norm on each sublayer's output
    # before it joins the stream ("sandwich"), q·k scaled by query_pre_attn_scalar^-½ instead of
    # d_head^-½, and tanh soft-capping c·tanh(s / c) of the attention scores and the logits.
    norm_weight_offset: float = 0.0
    sandwich_norms: bool = False
    query_pre_attn_scalar: float | None = None
    attention_softcap: float | None = None
    final_logit_softcap: float | None = None

    attention_window: int | None = None  # local attention: keys within +-w (or the last w if causal)
    local_layers: list[int] | None = None  # the layers that use attention_window; None: every layer

    pad_token_id: int = 0
    unk_token_id: int | None = 1
    bos_token_id: int | None = 2
    eos_token_id: int | None = 3
    decoder_start_token_id: int | None = 2
    max_decode_length: int = 128
    # Ids greedy decoding never picks (a folder's bad_words_ids: Marian's pad); logits keep them.
    suppressed_token_ids: list[int] = field(default_factory=list)
    # The rest of a folder's generation_config.json: end-token lists, forced tokens, lengths.
    generation: GenerationSettings = field(default_factory=GenerationSettings)

    extra: dict = field(default_factory=dict)  # importer notes (source family, original names)

    def __post_init__(self) -> None:
        if isinstance(self.generation, dict):  # from JSON
            self.generation = GenerationSettings.from_dict(self.generation)
        self.validate()

    # ---- derived values -------------------------------------------------
    @property
    def head_dim(self) -> int:
        return self.d_head if self.d_head is not None else self.d_model // self.n_heads

    @property
    def kv_heads(self) -> int:
        """Key/value heads; query head h reads key/value head h // (n_heads // kv_heads)."""
        return self.n_kv_heads if self.n_kv_heads is not None else self.n_heads

    @property
    def has_encoder(self) -> bool:
        return self.architecture in ("encoder-decoder", "encoder-only")

    @property
    def has_decoder(self) -> bool:
        return self.architecture in ("encoder-decoder", "decoder-only")

    @property
    def has_final_norm(self) -> bool:
        return self.norm_placement == "pre" if self.final_norm is None else self.final_norm

    @property
    def rotary_dims(self) -> int:
        """How many of each head's dimensions rotate (an even number)."""
        return int(self.head_dim * self.rotary_fraction) // 2 * 2

    def bias_of(self, part: str) -> bool:
        """Whether the ``"qkv"``, ``"out"`` or ``"ffn"`` projections have biases."""
        value = getattr(self, f"{part}_bias")
        return self.bias if value is None else value

    @property
    def embedding_scale(self) -> float:
        return math.sqrt(self.d_model) if self.scale_embeddings else 1.0

    def window_of(self, layer: int) -> int | None:
        """The local attention window of ``layer``, or None where it attends globally."""
        if self.attention_window is None:
            return None
        if self.local_layers is not None and layer not in self.local_layers:
            return None
        return self.attention_window

    def rope_theta_of(self, layer: int) -> float:
        """The rotary base of ``layer``: the local one on local-window layers, when set."""
        if self.local_rope_theta is not None and self.window_of(layer) is not None:
            return self.local_rope_theta
        return self.rope_theta

    def rope_scaling_of(self, layer: int) -> dict | None:
        """``rope_scaling`` of ``layer``: local layers with a base of their own rotate unscaled
        (Gemma 3 scales only its global layers)."""
        if self.local_rope_theta is not None and self.window_of(layer) is not None:
            return None
        return self.rope_scaling

    @property
    def kinds(self) -> tuple[str, ...]:
        """The attention kinds this architecture has."""
        return {
            "encoder-decoder": ("encoder", "decoder", "cross"),
            "encoder-only": ("encoder",),
            "decoder-only": ("decoder",),
        }[self.architecture]

    # ---- checks ---------------------------------------------------------
    def validate(self) -> None:
        """Raise ValueError naming the first field with an impossible value.

        Types come first (an int is an int, not a bool or 1e400), then bounds, so that no
        config read from a file can make the engine divide by zero, loop for hours or ask
        for terabytes before its tensors are compared with the file's.
        """
        for item in dataclasses.fields(self):
            _check_type(item.name, getattr(self, item.name), item.type)
        choices = {
            "architecture": ARCHITECTURES,
            "norm_placement": NORM_PLACEMENTS,
            "norm_type": NORM_TYPES,
            "activation": ACTIVATIONS,
            "output_activation": (None, *ACTIVATIONS),
            "positions": POSITIONS,
            "sinusoid_layout": SINUSOID_LAYOUTS,
        }
        for name, allowed in choices.items():
            value = getattr(self, name)
            if value not in allowed:
                raise ValueError(f"ModelConfig.{name}={value!r}; expected one of {allowed}")
        for name, (low, high) in SIZE_LIMITS.items():
            value = getattr(self, name)
            if value is not None and not low <= value <= high:
                raise ValueError(f"ModelConfig.{name}={value} is outside {low}..{high}")
        if self.d_head is None and self.d_model % self.n_heads:
            raise ValueError(
                f"d_model={self.d_model} is not divisible by n_heads={self.n_heads}; set d_head"
            )
        if self.n_kv_heads is not None and self.n_heads % self.n_kv_heads:
            raise ValueError(f"n_heads={self.n_heads} is not a multiple of n_kv_heads="
                             f"{self.n_kv_heads}: each key/value head serves a whole group")
        if self.positions == "sinusoidal" and self.d_model % 2:
            raise ValueError("sinusoidal positions need an even d_model")
        for name in ("dropout", "attention_dropout"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"ModelConfig.{name} must be in [0, 1), got {getattr(self, name)}")
        if not 0.0 <= self.norm_eps < 1.0:
            raise ValueError(f"ModelConfig.norm_eps must be in [0, 1), got {self.norm_eps}")
        if self.positions == "relative":
            self._check_relative_buckets()
        if self.local_layers is not None:
            deepest = max(self.n_encoder_layers, self.n_decoder_layers)
            wrong = [i for i in self.local_layers if not 0 <= i < deepest]
            if wrong:
                raise ValueError(f"local_layers names layer {wrong[0]}, but the model has "
                                 f"{deepest} layers")
        if self.rope_scaling is not None:
            check_scaling(self.rope_scaling)
        if self.parallel_blocks and (self.norm_placement != "pre" or self.architecture == "encoder-decoder"):
            raise ValueError("parallel_blocks needs norm_placement 'pre' and a single stack")
        if not 0.0 < self.rotary_fraction <= 1.0:
            raise ValueError(f"rotary_fraction must be in (0, 1], got {self.rotary_fraction}")
        for name in ("query_pre_attn_scalar", "attention_softcap", "final_logit_softcap"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"ModelConfig.{name} must be above 0, got {value}")
        if self.sandwich_norms and (self.norm_placement != "pre" or self.parallel_blocks):
            raise ValueError("sandwich_norms needs norm_placement 'pre' and serial blocks")
        if self.positions == "rotary" and self.rotary_dims < 2:
            raise ValueError(f"rotary positions need at least 2 rotating dimensions per head "
                             f"(d_head {self.head_dim} × rotary_fraction {self.rotary_fraction})")
        for name in ("rope_theta", "local_rope_theta"):
            value = getattr(self, name)
            if value is not None and not value > 1.0:
                raise ValueError(f"ModelConfig.{name} must be above 1, got {value}")
        if self.has_encoder and self.n_encoder_layers < 1:
            raise ValueError(f"{self.architecture} needs n_encoder_layers >= 1")
        if self.has_decoder and self.n_decoder_layers < 1:
            raise ValueError(f"{self.architecture} needs n_decoder_layers >= 1")
        self._check_token_ids()

    def _check_relative_buckets(self) -> None:
        """T5's bucket math: the bidirectional encoder halves the buckets, then half of those are
        exact offsets; the log-spaced rest needs a max distance beyond the exact ones."""
        least = 4 if self.has_encoder else 2
        if self.relative_buckets < least:
            raise ValueError(f"ModelConfig.relative_buckets={self.relative_buckets}: relative "
                             f"positions need at least {least}")
        if self.relative_max_distance <= self.relative_buckets // 2:
            raise ValueError(f"ModelConfig.relative_max_distance={self.relative_max_distance} must "
                             f"be above relative_buckets / 2 ({self.relative_buckets // 2})")

    def _check_token_ids(self) -> None:
        """Every id the config names must be a row of the token table."""
        for name in TOKEN_ID_FIELDS:
            value = getattr(self, name)
            if value is not None and not 0 <= value < self.vocab_size:
                raise ValueError(f"ModelConfig.{name}={value} is not a token id: the vocabulary "
                                 f"has ids 0..{self.vocab_size - 1} (vocab_size {self.vocab_size})")
        wrong = [i for i in self.suppressed_token_ids if not 0 <= i < self.vocab_size]
        if wrong:
            raise ValueError(f"ModelConfig.suppressed_token_ids holds {wrong[0]}, which is not a "
                             f"token id: the vocabulary has ids 0..{self.vocab_size - 1} "
                             f"(vocab_size {self.vocab_size})")
        self.generation.validate(self.vocab_size)

    # ---- JSON -----------------------------------------------------------
    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict) -> ModelConfig:
        if not isinstance(data, dict):
            raise ValueError(f"a ModelConfig is a JSON object, not a {type(data).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown ModelConfig fields: {', '.join(unknown)}")
        return cls(**data)

    @classmethod
    def from_json(cls, text: str) -> ModelConfig:
        """Raises ValueError (safe_json.JSONError for bad JSON) on anything but a valid config."""
        return cls.from_dict(safe_json.loads(text))


def _check_type(name: str, value, annotation: str) -> None:
    """``value`` has the type the field's annotation names (annotations are strings here)."""
    expected = annotation.removesuffix(" | None")
    if value is None and expected != annotation:
        return
    checks = {
        "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "float": lambda v: isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v),
        "bool": lambda v: isinstance(v, bool),
        "str": lambda v: isinstance(v, str),
        "list[int]": lambda v: isinstance(v, list) and all(
            isinstance(i, int) and not isinstance(i, bool) for i in v),
        "dict": lambda v: isinstance(v, dict),
        "GenerationSettings": lambda v: isinstance(v, GenerationSettings),
    }
    if expected not in checks:  # a new field's type: its check belongs here
        raise TypeError(f"ModelConfig.{name}: no type check for {annotation!r}")
    if not checks[expected](value):
        words = {"int": "an integer", "float": "a finite number", "bool": "true or false",
                 "str": "a string", "list[int]": "a list of integers", "dict": "an object",
                 "GenerationSettings": "an object of generation settings"}
        shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
        raise ValueError(f"ModelConfig.{name} must be {words[expected]}"
                         f"{', or null' if expected != annotation else ''}, got {shown}")
