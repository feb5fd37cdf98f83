"""How many threads torch should use for a model: small models run faster on one."""

from __future__ import annotations

import torch

SMALL_MODEL_PARAMETERS = 20_000_000
_default_threads: list[int] = []  # torch's own choice, remembered before the first change


def fit_threads(model) -> int:
    """Set torch's thread count for ``model`` and return it.

    Splitting a small model's small matrices across threads costs more than it saves, and on a
    busy 2-core machine a second thread waits for a core (demo translator, one sentence under
    load: 117 ms on one thread, 0.3-3.7 s on two). Large models keep torch's default.
    """
    if not _default_threads:
        _default_threads.append(torch.get_num_threads())
    parameters = getattr(model, "parameter_count", SMALL_MODEL_PARAMETERS)
    wanted = 1 if parameters < SMALL_MODEL_PARAMETERS else _default_threads[0]
    if torch.get_num_threads() != wanted:  # resizing the pool is needless work when it already fits
        torch.set_num_threads(wanted)
    return wanted
