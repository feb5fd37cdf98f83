"""Trace: everything one forward pass recorded, as plain read-only numpy arrays (numpy only)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .head_summary import summarize
from .kinds import HEAD_MODES, KINDS, parse_head
from .on_first_read import DeferredField
from .readable_tokens import readable_tokens


@dataclass(frozen=True)
class Trace:
    """One recorded forward pass (batch dimension removed).

    ``attention[kind]`` is ``[layers, heads, queries, keys]``; rows are queries, columns keys.
    ``activations`` is keyed by the hook names of DESIGN.md.

    A run computes some values when first read (engine.on_first_read): ``logits`` and
    ``predicted_tokens`` (plain arrays and lists once read; ``has_logits`` and
    ``logits_computed`` ask without computing), and the ``.scores`` activations (arrays that
    replay their layer exactly when read). ``masks[kind][layer]`` is the ``[queries, keys]``
    boolean of the cells a mask hid (causal, padding, local window), or None where nothing was.
    """

    source_tokens: list[str]
    target_tokens: list[str]
    predicted_tokens: list[str] = DeferredField()
    attention: dict[str, np.ndarray]
    activations: dict[str, np.ndarray]
    logits: np.ndarray | None = DeferredField()
    source_ids: list[int] = field(default_factory=list)
    target_ids: list[int] = field(default_factory=list)
    output_text: str = ""  # the decoded target as text, when the model decoded it
    model_name: str = ""
    ablated: tuple[tuple[str, int, int], ...] = ()
    forward_ms: float = 0.0  # the recorded teacher-forced pass
    decode_ms: float = 0.0  # greedy decoding before it, if any
    patched: tuple[str, ...] = ()  # hook names whose values were replaced by ``patch=``
    token_style: str = "plain"  # how the pieces read: engine.readable_tokens.STYLES
    masks: dict = field(default_factory=dict)  # kind -> per layer: bool [queries, keys] or None

    def masked_cells(self, kind: str, layer: int) -> np.ndarray | None:
        """``[queries, keys]`` booleans, True where a mask hid the key from the query (its
        weight is exactly 0 by construction); None where nothing was hidden. Equal masks are
        one read-only array (a causal mask serves every layer). A trace without ``masks``
        (built by hand) reads them off the recorded ``.scores``, which are -inf exactly there."""
        if kind in self.masks:
            return self.masks[kind][layer]
        scores = self.activations.get(f"{KINDS[kind].hook.format(layer)}.scores")
        if scores is None:
            return None
        masked = np.isneginf(np.asarray(scores)[0])  # a mask hides a key from every head alike
        return masked if masked.any() else None

    @property
    def has_logits(self) -> bool:
        """Whether the trace has logits (a model with an output head), without computing them."""
        return self.__dict__["_logits"] is not None

    @property
    def logits_computed(self) -> bool:
        """Whether reading ``logits`` and ``predicted_tokens`` now costs nothing."""
        fields = type(self).__dict__
        return not (fields["logits"].is_pending(self) or fields["predicted_tokens"].is_pending(self))

    def readable_tokens(self, side: str) -> list[str]:
        """The token list of a side as a person reads it (byte-level decoded, "▁"/"Ġ" as "·")."""
        return readable_tokens(self.tokens(side), self.token_style)

    def tokens(self, side: str) -> list[str]:
        """The token list of a side: "source" or "target"."""
        return self.source_tokens if side == "source" else self.target_tokens

    @staticmethod
    def query_side(kind: str) -> str:
        """Whose positions ``attention[kind]``'s rows are: "source" or "target"."""
        return KINDS[kind].queries

    @staticmethod
    def key_side(kind: str) -> str:
        """Whose positions its columns are (cross-attention: the encoder's, "source")."""
        return KINDS[kind].keys

    def query_tokens(self, kind: str) -> list[str]:
        """Row labels of ``attention[kind]``."""
        return self.tokens(KINDS[kind].queries)

    def key_tokens(self, kind: str) -> list[str]:
        """Column labels of ``attention[kind]``."""
        return self.tokens(KINDS[kind].keys)

    def hook_names(self) -> list[str]:
        return list(self.activations)

    def matrix(self, kind: str, layer: int, head: int | str) -> np.ndarray:
        """One ``[queries, keys]`` float32 matrix: a head, or the ``"mean"``/``"max"`` over heads.

        Raises ValueError naming the kind, layer or head that is out of range.
        """
        if kind not in self.attention:
            raise ValueError(f"kind {kind!r} is not in this trace; it has {', '.join(self.attention)}")
        stack = self.attention[kind]
        n_layers, n_heads = stack.shape[:2]
        if isinstance(layer, bool) or not isinstance(layer, int | np.integer) or not 0 <= layer < n_layers:
            raise ValueError(f"layer {layer} is out of range: {kind} has layers 0..{n_layers - 1}")
        head = parse_head(head)
        if head in HEAD_MODES:
            return summarize(np.asarray(stack[layer]), head)
        if not 0 <= head < n_heads:
            raise ValueError(f"head {head} is out of range: the model has heads 0..{n_heads - 1}, "
                             f"{' or '.join(repr(m) for m in HEAD_MODES)}")
        return stack[layer, head]
