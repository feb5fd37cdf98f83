"""Value-weighted attention (Kobayashi et al. 2020, "Attention is not only a weight").

    norms = value_norms(model, trace, "encoder", 1)      # [heads, keys]: ‖v_j W_O^h‖
    shown = value_weighted(trace.attention["encoder"][1], norms)  # [heads, q, k], rows sum to 1

Head h moves ``a_ij · v_j W_O^h`` from key j into query i's residual stream; the weight a_ij
alone ignores how long that vector is. A key with a tiny value vector (``</s>``, ``[SEP]``, often
the first token) can draw much weight and still move almost nothing. ``v`` is the recorded
``.v`` (value projection with its bias); the output bias is added once per query and belongs to
no key, so it is left out, as in the paper.
"""

from __future__ import annotations

import numpy as np

from .errors import InputError
from .kinds import KINDS


def out_projection(model, kind: str, layer: int) -> np.ndarray:
    """The attention module's ``W_O`` as ``[d_model, heads · d_head]`` (torch's Linear layout)."""
    stack, _, module = KINDS[kind].hook.format(layer).split(".")
    block = getattr(model.module, stack).layers[layer]
    return getattr(block, module).out_proj.weight.detach().cpu().numpy()


def head_value_norms(v: np.ndarray, w_out: np.ndarray, n_heads: int) -> np.ndarray:
    """``[heads, keys]`` float32 norms ‖v_j W_O^h‖ from ``v`` ``[kv_heads, keys, d_head]`` and
    ``w_out`` ``[d_model, heads · d_head]``. With grouped-query attention (kv_heads < heads)
    query head h reads kv head ``h // (heads / kv_heads)``."""
    kv_heads, _, d_head = v.shape
    if n_heads % kv_heads or w_out.shape[1] != n_heads * d_head:
        raise InputError(f"values of shape {list(v.shape)} do not fit {n_heads} heads and an "
                         f"output projection of shape {list(w_out.shape)}")
    group = n_heads // kv_heads
    norms = np.empty((n_heads, v.shape[1]), dtype=np.float32)
    for h in range(n_heads):
        w_h = w_out[:, h * d_head:(h + 1) * d_head].astype(np.float64)  # [d_model, d_head]
        norms[h] = np.linalg.norm(v[h // group].astype(np.float64) @ w_h.T, axis=-1)
    return norms


def value_norms(model, trace, kind: str, layer: int) -> np.ndarray:
    """``[heads, keys]``: ‖v_j W_O^h‖ of every head and key of ``kind`` at ``layer``.

    Raises InputError when the trace did not record the values (``record=False``).
    """
    name = f"{KINDS[kind].hook.format(layer)}.v"
    if name not in trace.activations:
        raise InputError(f"this trace holds no {name} (was it run with record=False?)")
    return head_value_norms(trace.activations[name], out_projection(model, kind, layer),
                            model.config.n_heads)


def value_weighted(weights: np.ndarray, norms: np.ndarray, renormalise: bool = True) -> np.ndarray:
    """``a_ij · ‖v_j W_O^h‖`` for ``weights`` ``[heads, q, k]`` and ``norms`` ``[heads, k]``.

    ``renormalise`` (the app's choice) divides each row by its sum, so every row sums to 1 like
    the weights and the two read on one scale: the share of what the head moves into query i that
    comes from key j. Unnormalised, the values are vector lengths in residual-stream units.
    """
    product = np.asarray(weights, dtype=np.float64) * np.asarray(norms, dtype=np.float64)[:, None, :]
    if renormalise:
        sums = product.sum(axis=-1, keepdims=True)
        product = np.divide(product, sums, out=np.zeros_like(product), where=sums > 0)
    return product.astype(np.float32)
