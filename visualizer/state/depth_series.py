"""Per-token series across depth, read from a Trace: residual-stream norms and norm statistics."""

from __future__ import annotations

import numpy as np

RESIDUAL_POINTS = ("resid_pre", "resid_mid", "resid_cross", "resid_post")
# The depth pane's plots and its figure's: key, title, y title (with its unit), x title.
PLOTS = (
    ("resid", "Residual stream: each token's L2 norm, through the layers", "L2 norm", "depth (sublayer)"),
    ("mean", "Each norm's input: mean per token", "mean of the norm's input", "norm (in run order)"),
    ("std", "Each norm's divisor: std per token", "std (divisor)", "norm (in run order)"),
)
LOG_SCALABLE = ("resid", "std")  # always positive; means can be negative and stay linear
MAX_COLORED_TOKENS = 12  # up to this many tokens: a colour and a legend entry each; more: one crowd

# What the residual stream has been through at each point (depth_series names them "0 mid", …).
RESIDUAL_NAMES = {"mid": "attn", "cross": "cross", "post": "ffn"}
RESIDUAL_MEANINGS = {"embed": "the embeddings", "attn": "after attention", "cross": "after cross-attn",
                     "ffn": "after FFN", "attn+ffn": "after the parallel attention and FFN"}


def residual_labels(labels: list[str]) -> list[str]:
    """Readable residual points: "0 pre" → "embed", "0 mid" → "L0 attn", "0 cross" → "L0 cross",
    "0 post" → "L0 ffn" ("L0 attn+ffn" in a parallel block, which has no point between them)."""
    with_mid = {label.split()[0] for label in labels if label.endswith(" mid")}
    readable = []
    for label in labels:
        layer, _, point = label.partition(" ")
        if point == "pre":
            readable.append("embed")
        elif point == "post" and layer not in with_mid:
            readable.append(f"L{layer} attn+ffn")
        else:
            readable.append(f"L{layer} {RESIDUAL_NAMES.get(point, point)}")
    return readable


def norm_labels(labels: list[str]) -> list[str]:
    """Readable norms: "0 self" → "L0 self", "0 self_attn.q_norm" → "L0 q norm"; "final" stays."""
    readable = []
    for label in labels:
        layer, _, norm = label.partition(" ")
        if not layer.isdigit():
            readable.append(label)
            continue
        norm = norm.removeprefix("self_attn.").replace("_norm", " norm").replace("_", " ")
        readable.append(f"L{layer} {norm}")
    return readable


def point_meaning(key: str, label: str) -> str:
    """A depth label for a tooltip: "L0 attn (after attention)", "norm L0 self"."""
    if key != "resid":
        return f"norm {label}"
    meaning = RESIDUAL_MEANINGS.get(label.partition(" ")[2] or label)
    return f"{label} ({meaning})" if meaning else label


def residual_norms(trace, stack: str) -> tuple[list[str], np.ndarray] | None:
    """(labels, ``[tokens, points]`` L2 norms) at every residual point of ``stack``, in order.

    ``resid_pre`` of layer i > 0 equals ``resid_post`` of layer i-1, so it appears once.
    """
    labels, columns = [], []
    layer = 0
    while f"{stack}.{layer}.resid_pre" in trace.activations:
        for point in RESIDUAL_POINTS:
            name = f"{stack}.{layer}.{point}"
            if name in trace.activations and not (point == "resid_pre" and layer > 0):
                labels.append(f"{layer} {point.removeprefix('resid_')}")
                columns.append(np.linalg.norm(trace.activations[name].astype(np.float64), axis=-1))
        layer += 1
    if not columns:
        return None
    return labels, np.stack(columns, axis=1).astype(np.float32)


def norm_statistic(trace, stack: str, statistic: str) -> tuple[list[str], np.ndarray] | None:
    """(labels, ``[tokens, norms]``) of every norm's ``.mean`` or ``.std`` in ``stack``, in run order.

    Returns None when the stack records none (``.mean`` is absent for RMSNorm).
    """
    labels, columns = [], []
    for name, values in trace.activations.items():
        if not name.startswith(stack + ".") or not name.endswith("." + statistic) or values.ndim != 1:
            continue
        path = name[len(stack) + 1: -len(statistic) - 1]  # "0.norm_ffn" or "final_norm"
        layer, _, norm = path.partition(".")
        labels.append(f"{layer} {norm.removeprefix('norm_')}" if layer.isdigit() else
                      path.removesuffix("_norm"))  # "final", "embed"
        columns.append(values)
    if not columns:
        return None
    return labels, np.stack(columns, axis=1).astype(np.float32)


def depth_stacks(trace) -> list[str]:
    """The stacks with residual points recorded, encoder first."""
    return [] if trace is None else [s for s in ("encoder", "decoder")
                                     if f"{s}.0.resid_pre" in trace.activations]


def shown_stack(state) -> str:
    """The depth pane's stack: the one chosen, else the stack of the attention kind in view."""
    stacks = depth_stacks(state.trace)
    if state.depth_stack in stacks:
        return state.depth_stack
    by_kind = "encoder" if state.kind == "encoder" else "decoder"
    return by_kind if by_kind in stacks else (stacks[0] if stacks else "")


def depth_series(trace, stack: str) -> dict[str, tuple[list[str], np.ndarray]]:
    """"resid", "mean" and "std" (those the stack records) -> (readable depth labels such as
    "L0 attn", ``[tokens, points]``)."""
    series = {}
    for key, found in (("resid", residual_norms(trace, stack)),
                       ("mean", norm_statistic(trace, stack, "mean")),
                       ("std", norm_statistic(trace, stack, "std"))):
        if found is not None:
            labels, values = found
            series[key] = (residual_labels(labels) if key == "resid" else norm_labels(labels), values)
    return series
