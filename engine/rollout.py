"""The ``rollout`` analysis: attention rollout (Abnar & Zuidema 2020), numpy only.

    matrix = rollout(trace.attention, "encoder", layer=1)            # [S, S], rows sum to 1
    matrix = rollout(trace.attention, "cross", layer=0, head="max")  # [T, S]: back to source tokens

For a self-attention kind, ``R_L = Â_L · … · Â_0`` with ``Â_i = 0.5·F(A_i) + 0.5·I``, rows
renormalised, F the mean (default) or the max over heads; the identity stands for the residual
connection. For cross-attention at decoder layer L: ``R^dec_L · X̂_L · R^enc_last``, ``X̂_L`` the
fused cross-attention with rows renormalised and no identity term (the residual carries no source
token), ``R^dec_L`` including layer L's self-attention. Computed in float64, returned as float32.
"""

from __future__ import annotations

import numpy as np

from .errors import InputError

FUSIONS = ("mean", "max")


def fuse_heads(layer_attention: np.ndarray, head: str = "mean") -> np.ndarray:
    """``[heads, q, k]`` → ``[q, k]``: the mean or the max over heads (float64)."""
    if head not in FUSIONS:
        raise InputError(f"rollout fuses heads by 'mean' or 'max', not {head!r}")
    stack = np.asarray(layer_attention, dtype=np.float64)
    return stack.mean(axis=0) if head == "mean" else stack.max(axis=0)


def normalise_rows(matrix: np.ndarray) -> np.ndarray:
    """Each row divided by its sum; an all-zero row (a query that sees nothing) stays zero."""
    sums = matrix.sum(axis=-1, keepdims=True)
    return np.divide(matrix, sums, out=np.zeros_like(matrix), where=sums > 0)


def residual_step(layer_attention: np.ndarray, head: str = "mean") -> np.ndarray:
    """``Â = 0.5·F(A) + 0.5·I``, rows renormalised to sum to 1."""
    fused = fuse_heads(layer_attention, head)
    return normalise_rows(0.5 * fused + 0.5 * np.eye(fused.shape[0]))


def self_rollout(stack: np.ndarray, layer: int, head: str = "mean") -> np.ndarray:
    """``R_layer`` of a ``[layers, heads, n, n]`` self-attention stack, float64."""
    result = np.eye(stack.shape[-1])
    for i in range(layer + 1):
        result = residual_step(stack[i], head) @ result  # the later layer on the left
    return result


def rollout(attention: dict[str, np.ndarray], kind: str, layer: int, head: str = "mean") -> np.ndarray:
    """The rollout ``[queries, keys]`` of ``kind`` at ``layer`` (a Trace's ``attention`` dict).

    Raises InputError naming a kind the dict lacks, a layer out of range or a fusion other than
    mean and max.
    """
    if kind not in attention:
        raise InputError(f"kind {kind!r} is not in this trace; it has {', '.join(attention)}")
    n_layers = attention[kind].shape[0]
    if isinstance(layer, bool) or not isinstance(layer, int | np.integer) or not 0 <= layer < n_layers:
        raise InputError(f"layer {layer} is out of range: {kind} has layers 0..{n_layers - 1}")
    if kind != "cross":
        return self_rollout(attention[kind], layer, head).astype(np.float32)
    for needed in ("decoder", "encoder"):
        if needed not in attention:
            raise InputError(f"cross-attention rollout needs the {needed} self-attention too")
    decoder = self_rollout(attention["decoder"], layer, head)
    cross = normalise_rows(fuse_heads(attention["cross"][layer], head))
    encoder = self_rollout(attention["encoder"], attention["encoder"].shape[0] - 1, head)
    return (decoder @ cross @ encoder).astype(np.float32)
