"""Progress and cancellation for a run: layers done, reported as they finish.

Every layer ends at its ``resid_post`` hook point, so a forward hook there counts layers
without touching the forward (decoding steps count their decoder layers too). The same hook
asks ``should_stop`` and raises ``engine.Cancelled`` between layers, so a long run stops within
one layer's time; the run's other hooks are removed on the way out, as after any error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from .hooks import hook_points
from .sweeps import Cancelled

Progress = Callable[[int, int], None]  # (layers done, layers the run will take at most)


def run_layers(config, decode_steps: int) -> int:
    """The most layers a run computes: the recorded pass, plus the decoding steps (each a pass of
    the decoder; the encoder once)."""
    encoder = config.n_encoder_layers if config.has_encoder else 0
    decoder = config.n_decoder_layers if config.has_decoder else 0
    return encoder + decoder + (decode_steps * decoder + encoder if decode_steps else 0)


class LayerWatch:
    """One run's count of layers done, its total, and the caller's callbacks."""

    def __init__(self, progress: Progress | None = None, should_stop: Callable[[], bool] | None = None):
        self.progress, self.should_stop = progress, should_stop
        self.done = 0
        self.total = 0

    @property
    def active(self) -> bool:
        return self.progress is not None or self.should_stop is not None

    def layer_done(self, _module=None, _args=None, _output=None) -> None:
        self.done += 1
        if self.progress is not None:
            self.progress(min(self.done, self.total), self.total)
        if self.should_stop is not None and self.should_stop():
            raise Cancelled(f"the run was cancelled after {self.done} of {self.total} layers")


@contextmanager
def watching(module, watch: LayerWatch) -> Iterator[None]:
    """``watch`` hears of every layer ``module`` finishes inside the block."""
    if not watch.active:
        yield
        return
    handles = [point.register_forward_hook(watch.layer_done)
               for name, point in hook_points(module).items() if name.endswith(".resid_post")]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()
