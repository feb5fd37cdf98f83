"""A run gets every core other programs leave free, one if it is too small to share; the count
comes back after it."""

import threading
from types import SimpleNamespace

import torch

import engine
from engine.threads import PARALLEL_WORK, run_work, threads_for
from tests.conftest import make_tiny_model

BERT_SIZED = SimpleNamespace(parameter_count=11_000_000)
TEXT_512 = "word " * 511  # ~640 tokens by the character rule


def test_runs_big_enough_to_share_get_the_free_cores_and_small_ones_one():
    translator_sized = SimpleNamespace(parameter_count=737_664)
    sentence = "the small cat sees a red house near the river"  # 46 characters, ~11 tokens
    assert threads_for(run_work(translator_sized, sentence), cores=2, busy=0.0) == 1
    work = run_work(BERT_SIZED, TEXT_512)
    assert threads_for(work, cores=2, busy=0.0) == 2  # an idle machine: every core
    assert threads_for(work, cores=2, busy=0.6) == 2  # a core partly free counts
    assert threads_for(work, cores=2, busy=1.0) == 1  # the other core is someone else's
    assert threads_for(work, cores=2, busy=5.0) == 1  # never none
    assert threads_for(work, cores=16, busy=3.5) == 13
    assert run_work(BERT_SIZED, "the cat", None) == 11_000_000  # a missing target adds nothing
    assert threads_for(PARALLEL_WORK, 4, 0.0) == 4 and threads_for(PARALLEL_WORK - 1, 4, 0.0) == 1


def test_this_process_own_work_does_not_count_as_other_programs_load(monkeypatch):
    clock = {"wall": 1000.0, "cpu": 50.0}
    monkeypatch.setattr(engine.threads, "_cpu_samples", [])
    monkeypatch.setattr(engine.threads, "time", SimpleNamespace(monotonic=lambda: clock["wall"],
                                                                 process_time=lambda: clock["cpu"]))
    monkeypatch.setattr(engine.threads, "os", SimpleNamespace(getloadavg=lambda: (2.1, 1.0, 0.5)))
    assert engine.threads.other_load() == 2.1  # no history yet: all of it may be others'
    clock.update(wall=1030.0, cpu=110.0)  # 30 s in which this process kept 2 cores busy
    assert abs(engine.threads.other_load() - 0.1) < 1e-9


def test_work_done_before_the_first_run_counts_as_this_process_own(monkeypatch):
    """The history starts at import: the first run after a busy minute of this process's own
    (start-up, other work) still takes the cores that process itself kept busy."""
    clock = {"wall": 1000.0, "cpu": 50.0}
    monkeypatch.setattr(engine.threads, "_cpu_samples", [(970.0, 0.0)])  # as seeded at import
    monkeypatch.setattr(engine.threads, "time", SimpleNamespace(monotonic=lambda: clock["wall"],
                                                                 process_time=lambda: clock["cpu"]))
    monkeypatch.setattr(engine.threads, "os", SimpleNamespace(getloadavg=lambda: (1.8, 1.0, 0.5)))
    assert abs(engine.threads.other_load() - (1.8 - 50.0 / 30.0)) < 1e-9
    assert engine.threads._cpu_samples[0] == (970.0, 0.0)


def test_run_threads_sets_the_count_on_the_running_thread_and_restores_it(monkeypatch):
    monkeypatch.setattr(engine.threads, "_default_threads", [3])  # as if torch chose 3 threads
    monkeypatch.setattr(engine.threads, "other_load", lambda: 0.0)  # an idle machine
    seen = {}

    def worker():  # the app runs on a pool thread, where torch's count is that thread's own
        torch.set_num_threads(1)
        with engine.run_threads(BERT_SIZED, TEXT_512) as used:
            seen["inside"], seen["used"] = torch.get_num_threads(), used
        seen["after"] = torch.get_num_threads()
        with engine.run_threads(make_tiny_model(), "the cat") as used:
            seen["tiny"] = (used, torch.get_num_threads())

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert seen["inside"] == seen["used"] == 3
    assert seen["after"] == 1
    assert seen["tiny"] == (1, 1)
