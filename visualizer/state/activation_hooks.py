"""Hook names of the activation view: split, build, and turn a recorded array into a heatmap."""

from __future__ import annotations

import numpy as np

STACK_LEVEL = -1  # "layer" of hooks outside the layers: embed, pos_embed, embed_norm, final_norm
HEATMAP_EXCLUDED = (".scores",)  # [heads, q, k]: attention, which the attention views show


def split_hook(name: str) -> tuple[str, int, str]:
    """``encoder.1.norm_ffn.input`` → ("encoder", 1, "norm_ffn.input");
    ``decoder.final_norm.output`` → ("decoder", STACK_LEVEL, "final_norm.output")."""
    stack, _, rest = name.partition(".")
    first, _, point = rest.partition(".")
    if first.isdigit():
        return stack, int(first), point
    return stack, STACK_LEVEL, rest


def hook_name(stack: str, layer: int, point: str) -> str:
    return f"{stack}.{point}" if layer == STACK_LEVEL else f"{stack}.{layer}.{point}"


def is_heatmap(name: str, array: np.ndarray) -> bool:
    """Whether a hook is tokens x features: ``[pos, d]``, or ``[heads, pos, d_head]`` for q/k/v/z."""
    if name.endswith(HEATMAP_EXCLUDED):
        return False
    return array.ndim == 2 or (array.ndim == 3 and ("_attn." in name))


def points_of(trace, stack: str, layer: int) -> list[str]:
    """The heatmap points recorded for one (stack, layer), in the order the forward pass ran."""
    points = []
    for name, array in trace.activations.items():
        hook_stack, hook_layer, point = split_hook(name)
        if hook_stack == stack and hook_layer == layer and is_heatmap(name, array):
            points.append(point)
    return points


def matrix_of(array: np.ndarray, head="all") -> np.ndarray:
    """A float32 ``[pos, features]`` heatmap: one head of a per-head array, or all heads side by side."""
    if array.ndim == 3:
        if head == "all" or head is None:
            heads, positions, width = array.shape
            array = array.transpose(1, 0, 2).reshape(positions, heads * width)
        else:
            array = array[int(head)]
    return np.ascontiguousarray(array, dtype=np.float32)


def token_side(name: str) -> str:
    """Whose positions a hook's rows are: "source" (encoder) or "target" (decoder).

    Cross-attention keys and values are computed from the encoder output, so they are source.
    """
    stack, _, point = split_hook(name)
    if point in ("cross_attn.k", "cross_attn.v"):
        return "source"
    return "target" if stack == "decoder" else "source"


DIVERGING_COLORMAP = "CET-D1"  # perceptually uniform blue-white-red: white is exactly 0


def can_show(trace, hook: str) -> bool:
    """Whether a hook is a tokens x features array (norm means and stds are in the depth plots)."""
    return hook in trace.activations and is_heatmap(hook, trace.activations[hook])


def default_hook(trace) -> str:
    for stack in ("encoder", "decoder"):
        if f"{stack}.0.resid_post" in trace.activations:
            return f"{stack}.0.resid_post"
    return next((h for h in trace.activations if can_show(trace, h)), "")


def shown_hook(state) -> str:
    """The hook the activations pane shows: the chosen one, or a default while none fits."""
    trace = state.trace
    if trace is None:
        return ""
    return state.hook if can_show(trace, state.hook) else default_hook(trace)


def shown_head(state, hook: str):
    """The head of a per-head hook that is shown ("all" side by side, or a valid index)."""
    array = state.trace.activations[hook]
    head = state.activation_head
    if array.ndim != 3 or not isinstance(head, int) or not 0 <= head < array.shape[0]:
        return "all"
    return head


def activation_levels(matrix: np.ndarray, clip_outliers: bool) -> tuple[float, float]:
    """Symmetric levels, so white is 0: the largest |value|, or its 99th percentile when clipping,
    over the finite values (NaN has no place on a scale, and one inf would flatten it)."""
    magnitudes = np.abs(matrix)
    if not np.isfinite(np.sum(magnitudes)):  # one sum tells a clean matrix apart
        magnitudes = magnitudes[np.isfinite(magnitudes)]
    if magnitudes.size == 0:
        return (-1.0, 1.0)
    limit = float(np.percentile(magnitudes, 99) if clip_outliers else magnitudes.max())
    limit = limit if limit > 0 else 1.0
    return (-limit, limit)


def activation_selection(state):
    """What the activations pane shows, as an AttentionSelection (rows tokens, columns features).

    Raises ValueError when there is nothing to show.
    """
    from .selection import AttentionSelection

    hook = shown_hook(state)
    if not hook:
        raise ValueError("nothing to export yet: run a sentence and pick an activation")
    trace = state.trace
    head = shown_head(state, hook)
    matrix = matrix_of(trace.activations[hook], head)
    stack, layer, _point = split_hook(hook)
    side = token_side(hook)
    what = f"head {head} of " if head != "all" else ""
    model = state.model_name()
    source, target = state.trace_inputs
    return AttentionSelection(
        matrix=matrix, query_tokens=state.token_labels(side), query_pieces=list(trace.tokens(side)),
        key_tokens=[str(i) for i in range(matrix.shape[1])], model=model, kind=stack, layer=layer,
        head=head, source=source, target=target or trace.output_text, colormap=DIVERGING_COLORMAP,
        levels=activation_levels(matrix, state.clip_outliers), auto_levels=True, hook=hook,
        title_text=f"{model} — {what}{hook}", axis_names=(f"{side} tokens", "features"))
