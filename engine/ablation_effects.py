"""What an ablation does to the output: before and after, per position, on one fixed input.

At every position with logits: ``p_before`` is the unablated run's probability of its own top
token there, ``p_after`` the ablated run's probability of that same token (teacher-forced on the
unablated run's target), ``delta_prob = p_after - p_before``, and ``kl`` is
KL(P_unablated ‖ P_ablated) in nats. ``before_text``/``after_text`` are what each model writes
(each decodes on its own when no target is given).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import InputError
from .hooks import z_hook
from .sweeps import baseline, kl_per_position, log_probs, log_softmax, zero_heads


@dataclass(frozen=True)
class AblationEffects:
    ablated: tuple[tuple[str, int, int], ...]
    tokens: list[str]  # the positions' own tokens (the decoder's input, or the encoder's)
    top_tokens: list[str]  # the unablated run's top token at each position
    after_top_tokens: list[str]  # the ablated run's top token there
    p_before: np.ndarray  # [positions] float32
    p_after: np.ndarray
    delta_prob: np.ndarray
    kl: np.ndarray
    before_text: str
    after_text: str
    token_style: str = "plain"


def ablation_effects(model, source: str, ablate, target: str | None = None, *,
                     max_new_tokens: int | None = None) -> AblationEffects:
    """The effects of zeroing the ``(kind, layer, head)`` heads in ``ablate`` on ``source``."""
    ablated = model._check_ablation(ablate)  # the InputErrors run() gives for a bad item
    full = baseline(model, source, target, max_new_tokens=max_new_tokens)
    if full.logits is None:
        raise InputError(f"{model.name} has no output head: there is no output to compare")
    reference = log_softmax(full.logits)
    edits: dict[str, list[tuple[int, int]]] = {}
    for kind, layer, head in ablated:
        edits.setdefault(z_hook(kind, layer), []).append((0, head))
    after = log_probs(model, full.source_ids, full.target_ids, 1,
                      {name: zero_heads(rows) for name, rows in edits.items()})[0]
    top = reference.argmax(axis=-1)
    rows = np.arange(len(top))
    p_before = np.exp(reference[rows, top])
    p_after = np.exp(after[rows, top])
    decodes = target is None and model.config.has_decoder
    if decodes:
        before_text = full.output_text
        after_text = model.run(source, ablate=ablated, record=False,
                               max_new_tokens=max_new_tokens).output_text
    else:  # nothing is decoded: the outputs are the top tokens at each position
        before_text = " ".join(model.target_tokenizer.tokens_of(top.tolist()))
        after_text = " ".join(model.target_tokenizer.tokens_of(after.argmax(axis=-1).tolist()))
    side = "target" if model.config.has_decoder else "source"
    return AblationEffects(
        ablated=ablated, tokens=list(full.tokens(side)),
        top_tokens=model.target_tokenizer.tokens_of(top.tolist()),
        after_top_tokens=model.target_tokenizer.tokens_of(after.argmax(axis=-1).tolist()),
        p_before=p_before.astype(np.float32), p_after=p_after.astype(np.float32),
        delta_prob=(p_after - p_before).astype(np.float32),
        kl=kl_per_position(reference, after).astype(np.float32),
        before_text=before_text, after_text=after_text, token_style=full.token_style)
