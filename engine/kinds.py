"""The attention kinds: their titles and which token list their queries and keys come from.

Every part of the app (selectors, axes, figure titles, exports, the CLI) reads these facts here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    name: str  # "encoder", "decoder" or "cross"
    title: str  # for figures and selectors
    short: str  # for compact lists ("cross L0 H2")
    queries: str  # "source" or "target": whose positions the rows are
    keys: str  # whose positions the columns are
    hook: str  # the attention module of layer {} in hook names

    @property
    def axis_names(self) -> tuple[str, str]:
        """("target tokens", "source tokens"): rows and columns, as figure axes name them."""
        return f"{self.queries} tokens", f"{self.keys} tokens"


KINDS: dict[str, Kind] = {
    "encoder": Kind("encoder", "Encoder self-attention", "enc", "source", "source", "encoder.{}.self_attn"),
    "decoder": Kind("decoder", "Decoder self-attention", "dec", "target", "target", "decoder.{}.self_attn"),
    "cross": Kind("cross", "Cross-attention (decoder → encoder)", "cross", "target", "source",
                  "decoder.{}.cross_attn"),
}
HEAD_MODES = ("mean", "max")  # summaries over the heads of a layer, after the numbered heads


def kind_title(kind: str) -> str:
    return KINDS[kind].title if kind in KINDS else kind


def head_title(head) -> str:
    """"head 3", "mean of heads" or "max of heads"."""
    return f"{head} of heads" if head in HEAD_MODES else f"head {head}"


def parse_head(text) -> int | str:
    """``"3"`` → 3; ``"mean"``/``"max"`` stay text. Raises ValueError otherwise."""
    if isinstance(text, int) and not isinstance(text, bool) or text in HEAD_MODES:
        return text
    try:
        return int(text)
    except (TypeError, ValueError):
        raise ValueError(f"head must be a number, 'mean' or 'max', not {text!r}") from None
