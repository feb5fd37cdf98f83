"""Small models run on one thread; large ones get torch's default back."""

from types import SimpleNamespace

import torch

import engine
from tests.conftest import make_tiny_model


def test_small_models_use_one_thread_and_large_ones_the_default():
    before = torch.get_num_threads()
    try:
        assert engine.fit_threads(make_tiny_model()) == 1
        assert torch.get_num_threads() == 1
        default = engine.fit_threads(SimpleNamespace(parameter_count=50_000_000))
        assert default == torch.get_num_threads() >= 1
    finally:
        torch.set_num_threads(before)
