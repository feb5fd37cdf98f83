"""Greedy decoding, batched, with an end-of-sequence stop and a length limit."""

from __future__ import annotations

import torch

from .model import Transformer


@torch.inference_mode()
def greedy_decode(module: Transformer, source_ids: torch.Tensor | None, prefix: torch.Tensor,
                  max_new_tokens: int, eos_id: int | None,
                  source_mask: torch.Tensor | None = None) -> list[list[int]]:
    """Extend ``prefix`` ``[B, P]`` one argmax token at a time.

    Returns, per row, the new tokens up to and including the end token (if one came).
    The encoder runs once; the decoder re-reads the whole prefix each step, which keeps
    every attention exact and costs little at the lengths a person reads. Interventions
    (an ablation) are hooks on ``module``: register them around the call.
    """
    memory = memory_mask = None
    if module.encoder is not None:
        memory, memory_mask = module.encode(source_ids, source_mask)
    tokens = prefix
    batch = prefix.shape[0]
    finished = torch.zeros(batch, dtype=torch.bool)
    generated: list[list[int]] = [[] for _ in range(batch)]
    for _ in range(max_new_tokens):
        hidden = module.decode(tokens, memory, memory_mask)
        scores = module.project(hidden[:, -1])
        if module.config.suppressed_token_ids:
            scores[:, module.config.suppressed_token_ids] = float("-inf")
        next_ids = scores.argmax(dim=-1)
        for row in range(batch):
            if not finished[row]:
                generated[row].append(int(next_ids[row]))
        if eos_id is not None:
            finished |= next_ids == eos_id
        if bool(finished.all()):
            break
        tokens = torch.cat([tokens, next_ids.unsqueeze(1)], dim=1)
    return generated
