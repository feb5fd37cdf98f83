"""Greedy decoding, batched, with end-of-sequence stops, a length limit and generation rules."""

from __future__ import annotations

import torch

from .generation import scores_for_step
from .kv_cache import DecodeCache
from .model import Transformer


@torch.inference_mode()
def greedy_decode(module: Transformer, source_ids: torch.Tensor | None, prefix: torch.Tensor,
                  max_new_tokens: int, eos_id: int | None = None,
                  source_mask: torch.Tensor | None = None, use_cache: bool = True) -> list[list[int]]:
    """Extend ``prefix`` ``[B, P]`` one argmax token at a time.

    Returns, per row, the new tokens up to and including the end token (if one came). The
    config's generation settings steer each step as transformers' generate() does (any of
    several end tokens stops; a token forced first or at the length limit; banned words);
    ``eos_id`` None means the config's own end tokens.
    The encoder runs once. With ``use_cache`` (engine.kv_cache) each step feeds the decoder
    only the token it has just chosen; without, the decoder re-reads the whole prefix each
    step (the reference the cache is tested against). Interventions (an ablation) are hooks on
    ``module``: register them around the call, and they apply at every step either way.
    """
    config = module.config
    stop = config.generation.stop_ids(config.eos_token_id) if eos_id is None else [eos_id]
    memory = memory_mask = None
    if module.encoder is not None:
        memory, memory_mask = module.encode(source_ids, source_mask)
    tokens = prefix
    batch, prompt_len = prefix.shape
    finished = torch.zeros(batch, dtype=torch.bool)
    stop_ids = torch.tensor(stop, dtype=torch.long)
    generated: list[list[int]] = [[] for _ in range(batch)]
    cache = DecodeCache(config.n_decoder_layers, prompt_len + max_new_tokens) if use_cache else None
    fed = tokens  # what the decoder reads this step: everything, or what the cache has not seen
    for step in range(max_new_tokens):
        hidden = module.decode(fed, memory, memory_mask, cache)
        scores = scores_for_step(module.project(hidden[:, -1]), tokens, settings=config.generation,
                                 banned=config.suppressed_token_ids, stop=stop,
                                 prompt_len=prompt_len, last_step=step == max_new_tokens - 1)
        next_ids = scores.argmax(dim=-1)
        for row in range(batch):
            if not finished[row]:
                generated[row].append(int(next_ids[row]))
        finished |= torch.isin(next_ids, stop_ids)
        if bool(finished.all()):
            break
        tokens = torch.cat([tokens, next_ids.unsqueeze(1)], dim=1)
        fed = tokens if cache is None else next_ids.unsqueeze(1)
    return generated
