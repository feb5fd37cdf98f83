"""Opening a small checkpoint checks its weights on one torch thread, then puts the count back."""

import torch

import engine
from visualizer import load_threads


def test_a_small_checkpoint_opens_on_one_thread_and_the_count_is_restored(tiny_checkpoint, monkeypatch):
    seen = []
    real_load = engine.load

    def recording_load(path):
        seen.append(torch.get_num_threads())
        return real_load(path)

    monkeypatch.setattr(engine, "load", recording_load)
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        model = load_threads.load_model(str(tiny_checkpoint))
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(previous)
    assert seen == [1]  # a few hundred kB of weights: threads would only wait for each other
    assert model.parameter_count * 4 <= load_threads.weight_bytes(tiny_checkpoint)


def test_a_folders_size_is_its_files_and_a_missing_path_counts_nothing(tmp_path):
    (tmp_path / "model.safetensors").write_bytes(b"x" * 1000)
    (tmp_path / "config.json").write_bytes(b"{}")
    assert load_threads.weight_bytes(tmp_path) == 1002
    assert load_threads.weight_bytes(tmp_path / "absent.safetensors") == 0
