"""The memory guard: a run's size is estimated from its lengths before anything large is allocated,
and a run beyond the budget is refused with the estimate and the limit named."""

import time

import numpy as np
import pytest
from torch.utils.flop_counter import FlopCounterMode

import engine
from engine import memory_guard
from engine.hooks import hook_points
from engine.memory_guard import estimate_run, format_bytes, memory_budget
from tests.conftest import make_tiny_model
from tests.single_stack_models import endless_decoder, mlm_model

TRANSLATOR = "assets/models/translator.safetensors"
SENTENCE = "the small cat sees the red house"


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Tiny models run far faster on one thread of a shared machine (tests/visualizer/conftest.py)."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def translator():
    return engine.load(TRANSLATOR)


def recorded_bytes(trace) -> int:
    """What the trace holds once its logits are read; ``.scores`` are replayed, never kept."""
    logits = trace.logits.nbytes if trace.logits is not None else 0
    return (sum(a.nbytes for a in trace.attention.values()) + logits
            + sum(a.nbytes for name, a in trace.activations.items() if not name.endswith(".scores")))


MODELS = {  # name -> a model with its own set of hook points
    "post-LN encoder-decoder": lambda: make_tiny_model(),
    "T5-like": lambda: make_tiny_model(positions="relative", norm_type="rmsnorm", norm_placement="pre",
                                       bias=False, norm_bias=False, gated_ffn=True, activation="gelu",
                                       d_head=16, scale_attention=False),
    "rotary decoder-only": lambda: make_tiny_model("decoder-only", positions="rotary", d_ff=48),
    "BERT-like MLM": lambda: mlm_model(positions="learned", max_positions=400, type_vocab_size=2,
                                       embed_norm=True, output_transform=True),
    "headless encoder": lambda: make_tiny_model("encoder-only", output_head=False),
}


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("words", [3, 120])
def test_the_trace_estimate_is_the_recorded_size(name, words):
    model = MODELS[name]()
    text = " ".join(["the cat sees a dog ."] * words)[: words * 4]
    target = "le chat voit" if model.config.architecture == "encoder-decoder" else None
    trace = model.run(text, target)
    measured = recorded_bytes(trace)
    source, target_len = len(trace.source_tokens), len(trace.target_tokens)
    estimate = estimate_run(model.module, source, target_len)
    assert estimate.trace_bytes == pytest.approx(measured, rel=0.1), (source, target_len)


def test_the_translator_estimate_holds_at_several_lengths(translator):
    for source in ("the cat", SENTENCE, " ".join([SENTENCE] * 30)):
        for target in (None, "le chat"):
            trace = translator.run(source, target)
            estimate = estimate_run(translator.module, len(trace.source_tokens), len(trace.target_tokens))
            assert estimate.trace_bytes == pytest.approx(recorded_bytes(trace), rel=0.1)


def test_the_issue_input_is_refused_at_once_naming_estimate_and_limit(translator):
    translator.memory_budget = 3 * 10**9
    try:
        start = time.perf_counter()
        with pytest.raises(engine.InputError) as caught:
            translator.run("🙂" * 10000)  # 10,000 unknown tokens: 78 s and 9.9 GB before the guard
        elapsed = time.perf_counter() - start
    finally:
        translator.memory_budget = None
    assert str(caught.value) == ("this input would record 3.4 GB (10,001 source + 49 target tokens, "
                                 "decoding up to 48 new tokens); the limit is 3.0 GB: shorten it or "
                                 "ask for fewer new tokens")
    assert elapsed < 1.0


def test_an_unrecorded_run_is_judged_by_its_own_smaller_estimate():
    model = make_tiny_model()
    text = " ".join(["the cat sees a dog ."] * 40)
    source = len(model.tokenizer.encode(text).ids)
    estimate = estimate_run(model.module, source, 5)  # <s> le chat voit </s>
    assert estimate.working_bytes < estimate.trace_bytes * 0.8
    model.memory_budget = (estimate.working_bytes + estimate.trace_bytes) // 2
    with pytest.raises(engine.InputError, match=r"^this input would record .*; the limit is "):
        model.run(text, "le chat voit")
    trace = model.run(text, "le chat voit", record=False)
    assert trace.logits.shape == (5, model.config.vocab_size) and not trace.attention
    model.memory_budget = estimate.working_bytes // 2
    with pytest.raises(engine.InputError,
                       match=rf"^this input would need {format_bytes(estimate.working_bytes)} "
                             rf"\({source} source \+ 5 target tokens\)"):
        model.run(text, "le chat voit", record=False)


def test_a_decoded_run_is_judged_by_its_longest_outcome_before_it_decodes():
    model = endless_decoder()  # never ends early: the bound is what it does
    prompt_len = len(model.tokenizer.encode("the cat").ids)
    longest = estimate_run(model.module, 0, prompt_len + 30, 30)
    model.memory_budget = longest.trace_bytes - 1
    with pytest.raises(engine.InputError, match="decoding up to 30 new tokens.*ask for fewer new tokens"):
        model.run("the cat", max_new_tokens=30)
    model.memory_budget = longest.trace_bytes
    trace = model.run("the cat", max_new_tokens=30)
    assert recorded_bytes(trace) == pytest.approx(longest.trace_bytes, rel=0.1)


def _counted_work(model, function) -> tuple[float, float]:
    """(multiply-adds torch's flop counter sees, attention cells the pattern hook points see)."""
    cells = []
    handles = [point.register_forward_hook(lambda _m, _a, out: cells.append(out.numel()))
               for name, point in hook_points(model.module).items() if name.endswith(".pattern")]
    try:
        with FlopCounterMode(display=False) as counter:
            function()
    finally:
        for handle in handles:
            handle.remove()
    return counter.get_total_flops() / 2, float(sum(cells))


@pytest.mark.parametrize("architecture", ["encoder-decoder", "decoder-only", "encoder-only"])
def test_the_work_estimate_counts_what_decoding_computes(architecture):
    model = make_tiny_model(architecture, eos_token_id=None, max_decode_length=9)  # never stops early
    text = "the small cat sees a red house ."
    budget = 9 if architecture == "decoder-only" else None
    trace = model.run(text, record=False, max_new_tokens=budget)
    steps = 0 if architecture == "encoder-only" else 9
    multiply_adds, cells = _counted_work(model, lambda: model.run(text, record=False, max_new_tokens=budget))
    estimate = estimate_run(model.module, len(trace.source_tokens), len(trace.target_tokens), steps)
    assert estimate.multiply_adds == pytest.approx(multiply_adds, rel=0.1)
    assert estimate.attention_cells == cells


def test_a_run_beyond_the_work_limit_is_refused_before_it_decodes():
    model = endless_decoder()
    model.memory_budget = 10**13  # the work limit alone decides
    model.work_limit = 1e10
    start = time.perf_counter()
    with pytest.raises(engine.InputError, match=r"^this run would take 6\.\de\+10 operations "
                                                r"\(4,003 target tokens, decoding up to 4,000 new tokens\); "
                                                r"the limit is 1e\+10: shorten it or ask for fewer"):
        model.run("the cat", max_new_tokens=4000, record=False)
    assert time.perf_counter() - start < 1.0
    model.work_limit = 1e11
    assert memory_guard.check_run(model, 0, 4003, record=False, decode_steps=4000).work < 1e11


def test_text_too_long_to_tokenize_quickly_is_refused_before_tokenizing(translator):
    text = "a" * (memory_guard.MAX_TEXT_CHARACTERS + 1)
    start = time.perf_counter()
    with pytest.raises(engine.InputError, match="the source text has 1,000,001 characters; at most "
                                                "1,000,000 are accepted"):
        translator.run(text)
    with pytest.raises(engine.InputError, match="the target text has 1,000,001 characters"):
        translator.run("the cat", text)
    with pytest.raises(engine.InputError, match="the prompt has 1,000,001 characters"):
        make_tiny_model("decoder-only").run(text)
    assert time.perf_counter() - start < 1.0


def test_a_lone_surrogate_is_named_before_the_tokenizer_sees_it(translator):
    with pytest.raises(engine.InputError, match=r"^the source text holds a lone surrogate \(U\+DC80\) "
                                                r"at character 3, which is not text: remove it$"):
        translator.run("ab\udc80c")
    with pytest.raises(engine.InputError, match=r"the target text holds a lone surrogate \(U\+D800\)"):
        translator.run("the cat", "\ud800")


# ---- the budget ------------------------------------------------------------------------------
def test_the_budget_is_a_quarter_of_the_memory_available(monkeypatch):
    monkeypatch.delenv(memory_guard.BUDGET_VARIABLE, raising=False)
    with open("/proc/meminfo") as stream:
        available = next(int(line.split()[1]) * 1024 for line in stream if line.startswith("MemAvailable"))
    assert memory_budget() == pytest.approx(available / 4, rel=0.05)


def test_the_budget_falls_back_when_the_system_will_not_say(monkeypatch):
    def no_file(*_args, **_kwargs):
        raise OSError("no /proc here")

    monkeypatch.setattr(memory_guard, "open", no_file, raising=False)
    import os

    pages = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    assert memory_guard.available_memory() == pytest.approx(pages, rel=0.2)
    monkeypatch.setattr(memory_guard.os, "sysconf", no_file)
    assert memory_guard.available_memory() == memory_guard.FALLBACK_AVAILABLE


def test_the_model_attribute_wins_over_the_environment(monkeypatch):
    model = make_tiny_model()
    monkeypatch.setenv(memory_guard.BUDGET_VARIABLE, "2.5e6")
    assert memory_budget(model) == 2_500_000
    with pytest.raises(engine.InputError, match=r"the limit is 2\.5 MB"):
        model.run(" ".join(["the cat"] * 300))
    model.memory_budget = 123
    assert memory_budget(model) == 123
    monkeypatch.setenv(memory_guard.BUDGET_VARIABLE, "lots")
    with pytest.raises(engine.InputError, match="TRANSFORMER_INSPECTOR_MEMORY_BUDGET='lots' is not a number"):
        memory_budget(None)


# ---- what the process really holds ----------------------------------------------------------
def _peak_rss_since_reset() -> int:
    with open("/proc/self/status") as stream:
        return next(int(line.split()[1]) * 1024 for line in stream if line.startswith("VmHWM"))


def _measure(function) -> int:
    import gc

    gc.collect()
    with open("/proc/self/clear_refs", "w") as stream:
        stream.write("5")  # resets the peak to the current size (Linux)
    base = _peak_rss_since_reset()
    function()
    return _peak_rss_since_reset() - base


def test_the_estimates_bound_what_a_run_really_holds(translator):
    """The budget's share rests on these: recording peaks at 1-1.75x the Trace (less than its
    nbytes where views share memory, as patterns written in place need no stacking copy), an
    unrecorded run at about its working estimate."""
    try:
        _measure(lambda: None)
    except OSError:
        pytest.skip("peak memory is read from /proc/self (Linux)")
    text = "🙂" * 1800
    source = len(translator.tokenizer.encode(text).ids)
    estimate = estimate_run(translator.module, source, 3)
    unrecorded = _measure(lambda: translator.run(text, "le chat", record=False))
    recorded = _measure(lambda: translator.run(text, "le chat"))
    assert 0.6 * estimate.working_bytes <= unrecorded <= 1.25 * estimate.working_bytes
    assert 0.9 * estimate.trace_bytes <= recorded <= 1.75 * estimate.trace_bytes


def test_refused_runs_allocate_nothing_large(translator):
    try:
        _measure(lambda: None)
    except OSError:
        pytest.skip("peak memory is read from /proc/self (Linux)")
    translator.memory_budget = 10**8
    try:
        def refused():
            with pytest.raises(engine.InputError):
                translator.run("🙂" * 10000)

        grown = _measure(refused)
    finally:
        translator.memory_budget = None
    assert grown < 50 * 10**6  # the tokens, not the 6.6 GB the run would record


def test_a_run_at_exactly_the_budget_records_as_before(translator):
    lengths = translator.run(SENTENCE, "le petit chat", record=False)
    translator.memory_budget = estimate_run(translator.module, len(lengths.source_tokens),
                                            len(lengths.target_tokens)).trace_bytes
    try:
        trace = translator.run(SENTENCE, "le petit chat")
    finally:
        translator.memory_budget = None
    np.testing.assert_array_equal(trace.logits, lengths.logits)  # recording changes nothing
    assert recorded_bytes(trace) == translator.memory_budget or recorded_bytes(trace) > 0
