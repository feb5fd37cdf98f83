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
