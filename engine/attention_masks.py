"""The cells each attention layer's mask hid, as a Trace keeps them (``Trace.masks``).

The masks are the ones the stacks build for the pass (Stack.self_attention_mask: causality,
padding and local windows; the encoder's padding for cross-attention), so a view can draw
"masked" cells without reading the ``[heads, q, k]`` scores, which a trace no longer keeps.
Equal masks are one read-only array: a causal mask serves every decoder layer.
"""

from __future__ import annotations

import numpy as np
import torch

from .kinds import KINDS


def _hidden(visible: torch.Tensor | None, queries: int, keys: int) -> np.ndarray | None:
    """``[queries, keys]`` True where ``visible`` (broadcastable ``[B, 1, q, k]``) is False."""
    if visible is None:
        return None
    hidden = np.ascontiguousarray((~visible[0, 0]).expand(queries, keys).numpy())
    if not hidden.any():
        return None
    hidden.flags.writeable = False
    return hidden


def run_masks(module, lengths: dict[str, int], memory_mask: torch.Tensor | None) -> dict[str, tuple]:
    """``kind -> (per layer: hidden cells or None)`` for a pass over ``lengths`` positions
    (``{"encoder": source, "decoder": target}``) with the encoder's key mask ``memory_mask``."""
    config = module.config
    masks: dict[str, tuple] = {}
    with torch.inference_mode():
        for kind in config.kinds:
            spec = KINDS[kind]
            stack = spec.hook.split(".")[0]
            part = getattr(module, stack)
            queries = lengths[stack]
            if spec.queries != spec.keys:  # cross-attention: the encoder's padding alone
                keys = lengths["encoder"]
                visible = None
                if memory_mask is not None and not bool(memory_mask.all()):
                    visible = memory_mask[:, None, None, :]
                shared = _hidden(visible, queries, keys)
                masks[kind] = tuple(shared for _ in part.layers)
                continue
            key_mask = memory_mask if stack == "encoder" else None
            by_window: dict = {}
            layers = []
            for i in range(len(part.layers)):
                window = config.window_of(i)
                if window not in by_window:
                    by_window[window] = _hidden(part.self_attention_mask(key_mask, queries, window),
                                                queries, queries)
                layers.append(by_window[window])
            masks[kind] = tuple(layers)
    return masks
