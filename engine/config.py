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

ARCHITECTURES = ("encoder-decoder", "encoder-only", "decoder-only")
NORM_PLACEMENTS = ("post", "pre")
NORM_TYPES = ("layernorm", "rmsnorm")
ACTIVATIONS = ("relu", "gelu", "gelu_tanh", "silu", "swish")
POSITIONS = ("sinusoidal", "learned", "relative", "rotary", "none")
SINUSOID_LAYOUTS = ("interleaved", "split")


@dataclass
class ModelConfig:
    """Architecture of a Transformer. ``to_json``/``from_json`` round-trip exactly."""

    architecture: str = "encoder-decoder"
    vocab_size: int = 37000
    d_model: int = 512
    n_heads: int = 8
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
    type_vocab_size: int = 0  # BERT token types: segment 0's vector is added at every position

    scale_embeddings: bool = True  # multiply token embeddings by sqrt(d_model)
    scale_attention: bool = True  # divide q.k by sqrt(d_head); T5 does not
    bias: bool = True  # biases in the attention and FFN projections
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

    extra: dict = field(default_factory=dict)  # importer notes (source family, original names)

    def __post_init__(self) -> None:
        self.validate()

    # ---- derived values -------------------------------------------------
    @property
    def head_dim(self) -> int:
        return self.d_head if self.d_head is not None else self.d_model // self.n_heads

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
        """Raise ValueError naming the first field with an impossible value."""
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
        for name in ("vocab_size", "d_model", "n_heads", "d_ff", "max_positions"):
            if getattr(self, name) <= 0:
                raise ValueError(f"ModelConfig.{name} must be positive, got {getattr(self, name)}")
        if self.d_head is None and self.d_model % self.n_heads:
            raise ValueError(
                f"d_model={self.d_model} is not divisible by n_heads={self.n_heads}; set d_head"
            )
        if self.positions == "sinusoidal" and self.d_model % 2:
            raise ValueError("sinusoidal positions need an even d_model")
        if self.attention_window is not None and self.attention_window < 1:
            raise ValueError("attention_window must be >= 1 or None")
        if self.local_layers is not None and (
                not isinstance(self.local_layers, list)
                or not all(isinstance(i, int) and i >= 0 for i in self.local_layers)):
            raise ValueError(f"local_layers must be a list of layer numbers, got {self.local_layers!r}")
        if not 0.0 < self.rotary_fraction <= 1.0:
            raise ValueError(f"rotary_fraction must be in (0, 1], got {self.rotary_fraction}")
        if self.positions == "rotary" and self.rotary_dims < 2:
            raise ValueError(f"rotary positions need at least 2 rotating dimensions per head "
                             f"(d_head {self.head_dim} × rotary_fraction {self.rotary_fraction})")
        for name in ("rope_theta", "local_rope_theta"):
            value = getattr(self, name)
            if value is not None and not value > 1.0:
                raise ValueError(f"ModelConfig.{name} must be above 1, got {value}")
        if self.type_vocab_size < 0:
            raise ValueError(f"type_vocab_size must be >= 0, got {self.type_vocab_size}")
        if self.has_encoder and self.n_encoder_layers < 1:
            raise ValueError(f"{self.architecture} needs n_encoder_layers >= 1")
        if self.has_decoder and self.n_decoder_layers < 1:
            raise ValueError(f"{self.architecture} needs n_decoder_layers >= 1")

    # ---- JSON -----------------------------------------------------------
    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict) -> ModelConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown ModelConfig fields: {', '.join(unknown)}")
        return cls(**data)

    @classmethod
    def from_json(cls, text: str) -> ModelConfig:
        return cls.from_dict(json.loads(text))
