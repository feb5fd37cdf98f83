"""A run gets every core other programs leave idle; a large model every core; the count comes back."""

import threading
from types import SimpleNamespace

import torch

import engine
from engine.threads import SMALL_MODEL_PARAMETERS, threads_for


def test_small_models_use_the_idle_cores_and_large_ones_every_core():
    small, large = 1_000_000, SMALL_MODEL_PARAMETERS
    assert threads_for(small, cores=2, load=0.1) == 2  # a quiet machine: both cores
    assert threads_for(small, cores=2, load=0.9) == 2  # partly idle counts (our own runs load it too)
    assert threads_for(small, cores=2, load=1.0) == 1  # one core busy elsewhere: the other one only
    assert threads_for(small, cores=2, load=6.0) == 1  # never zero
    assert threads_for(small, cores=16, load=3.2) == 13
    assert threads_for(large, cores=2, load=6.0) == 2  # long operations hide the waits


def test_run_threads_sets_the_count_on_the_running_thread_and_restores_it(monkeypatch):
    monkeypatch.setattr(engine.threads, "_default_threads", [3])  # as if torch chose 3 threads
    seen = {}

    def worker():  # the app runs on a pool thread, where torch's count is that thread's own
        torch.set_num_threads(1)
        with engine.run_threads(SimpleNamespace(parameter_count=50_000_000)) as used:
            seen["inside"], seen["used"] = torch.get_num_threads(), used
        seen["after"] = torch.get_num_threads()

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert seen["inside"] == seen["used"] == 3
    assert seen["after"] == 1
