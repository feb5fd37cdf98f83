"""Seeded fuzzing of every checkpoint format: each damaged file or folder ends in a model or a
clear CheckpointError/InputError naming it, in time and within a memory bound.

A case is one seeded damage of a tiny model's file or folder (tests/engine/fuzz/mutations.py):
truncation, bit flips, hostile JSON values, header damage, removed, renamed, misshaped or
foreign tensors. Cases run in one child process with a timeout each and a capped address
space, so a hang, a crash or a blow-up fails the test with the case named instead of taking CI
down. FUZZ_SCALE multiplies the case counts and FUZZ_SEED picks other cases; a bigger campaign
runs outside pytest: ``python -m tests.engine.fuzz.campaign --cases 2000``.
"""

import os
import shutil

import pytest

from tests.conftest import make_tiny_model
from tests.engine.fuzz.runner import Fuzzer

SEED = int(os.environ.get("FUZZ_SEED", "14"))
SCALE = float(os.environ.get("FUZZ_SCALE", "1"))
CASES = {"native": 80, "pt": 60, "marian": 60, "bart": 60, "t5": 60, "bert": 60, "gpt2": 60,
         "gpt2_vocab_files": 40, "modernbert": 40}


@pytest.fixture(scope="module")
def fuzzer():
    runner = Fuzzer()
    yield runner
    runner.close()


@pytest.fixture(scope="module")
def bases(tmp_path_factory):
    """The undamaged file or folder of each format, built on first use."""
    root = tmp_path_factory.mktemp("fuzz-bases")
    built = {}

    def base(fmt: str):
        if fmt not in built:
            if fmt in ("native", "pt"):
                path = root / ("tiny.safetensors" if fmt == "native" else "tiny.pt")
                make_tiny_model(seed=1).save(path)
            else:
                pytest.importorskip("transformers")  # the tiny folders are saved by it
                path = shutil.copytree(_hf_folder(fmt, tmp_path_factory), root / fmt)
            built[fmt] = path
        return built[fmt]

    return base


def _hf_folder(fmt: str, tmp_path_factory):
    if fmt == "bert":
        from tests.engine.hf_fixtures_encoders import encoder_folder

        return encoder_folder("bert", tmp_path_factory)
    if fmt.startswith("gpt2"):
        from tests.engine.hf_fixtures_gpt2 import gpt2_folder

        return gpt2_folder(fmt, tmp_path_factory)
    if fmt == "modernbert":
        from tests.engine.hf_fixtures_modernbert import modernbert_folder

        return modernbert_folder(tmp_path_factory)
    from tests.engine.hf_fixtures import hf_folder

    return hf_folder(fmt, tmp_path_factory)


@pytest.mark.parametrize("fmt", list(CASES))
def test_every_damaged_file_ends_in_a_model_or_a_clear_error(fmt, fuzzer, bases):
    count = max(1, round(CASES[fmt] * SCALE))
    summary = fuzzer.run(fmt, bases(fmt), SEED, range(-1, count))
    undamaged = summary.results[0]
    assert undamaged.outcome == "model", f"the undamaged {fmt} base: {undamaged.detail}"
    failures = "\n".join(f"{r.outcome}: {r.case}\n    {r.detail[-500:]}" for r in summary.failures)
    assert not summary.failures, f"{fmt}, seed {SEED}: {summary.report()}\n{failures}"
    # The damage must be real and varied: most cases refused, and some still loading.
    assert summary.count("refused") >= count // 2, summary.report()
    assert summary.count("model") + summary.count("input-error") >= 2, summary.report()


def test_the_runner_catches_blow_ups_and_hangs(fuzzer, tmp_path):
    """The harness itself: a case that takes 320 MB, and one that never answers, fail."""
    memory = fuzzer.run("harness-memory", tmp_path, SEED, [0]).results[0]
    assert memory.outcome == "memory" and memory.rss_growth_mb > 300, memory
    hang = fuzzer.run("harness-hang", tmp_path, SEED, [0], timeout=2).results[0]
    assert hang.outcome == "hang", hang
