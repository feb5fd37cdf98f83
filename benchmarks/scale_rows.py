"""The scale measurement: a Qwen3-0.6B-shaped model at 2,048 tokens, recorded lean.

28 layers, 16 query / 8 key-value heads of 128, d 1024, d_ff 3072, a 151,936-token vocabulary,
random weights (built on the meta device, then filled: no Xavier pass over 0.6B values). The
full trace would be 22 GB, so the run records lean (engine.lean_recording): what it measures is
the process's peak RSS, the bytes the trace keeps, the run's progress calls, the first read of a
layer (one layer replayed) and a head switch within it. ``scale_case(vocab=1000, layers=2,
tokens=256)`` checks the logic in seconds. Run: ``python -m benchmarks.scale_rows``.
"""

from __future__ import annotations

import resource
import time

import numpy as np
import torch

import engine
from engine.inspectable_model import InspectableModel
from engine.lazy_arrays import LazyArray
from engine.memory_guard import estimate_run, format_bytes
from engine.model import Transformer

QWEN3_06B = dict(d_model=1024, n_heads=16, n_kv_heads=8, d_head=128, d_ff=3072, rope_theta=1e6,
                 norm_eps=1e-6)


def peak_rss() -> int:
    """Bytes: the most this process has held (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def qwen_shaped(vocab: int = 151936, layers: int = 28) -> InspectableModel:
    words = [f"w{i}" for i in range(vocab - 4)]
    tokenizer = engine.word_level_tokenizer(words, append_eos=False, prepend_bos=True)
    config = engine.ModelConfig(
        architecture="decoder-only", vocab_size=tokenizer.vocab_size, n_encoder_layers=0,
        n_decoder_layers=layers, dropout=0.0, positions="rotary", norm_placement="pre",
        norm_type="rmsnorm", norm_bias=False, bias=False, activation="silu", gated_ffn=True,
        qk_norm=True, scale_embeddings=False, tie_embeddings=True, max_positions=40960,
        eos_token_id=None, **QWEN3_06B)
    with torch.device("meta"):
        module = Transformer(config)
    module = module.to_empty(device="cpu")
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for parameter in module.parameters():
            if parameter.dim() > 1:
                parameter.normal_(0, parameter.shape[-1] ** -0.5, generator=generator)
            else:
                parameter.fill_(1.0)
    return InspectableModel(module, tokenizer, "Qwen3-0.6B shape (random)")


def scale_case(vocab: int = 151936, layers: int = 28, tokens: int = 2048,
               budget: int = 5 * 10**9) -> dict:
    """The measured figures (bytes, seconds) of one lean run and of reading it."""
    start = time.perf_counter()
    model = qwen_shaped(vocab, layers)
    built_s = time.perf_counter() - start
    words = [f"w{i}" for i in range(vocab - 4)]
    text = " ".join(words[(i * 7919) % len(words)] for i in range(tokens - 1))
    model.lean_over_budget, model.memory_budget = True, budget
    full = estimate_run(model.module, 0, tokens).trace_bytes
    calls = []
    start = time.perf_counter()
    trace = model.run(text, max_new_tokens=0, progress=lambda done, total: calls.append((done, total)))
    run_s = time.perf_counter() - start
    after_run = peak_rss()
    kept = sum(value.nbytes for value in trace.activations.values() if isinstance(value, np.ndarray))
    start = time.perf_counter()
    trace.matrix("decoder", layers // 2, 0)
    first_read_s = time.perf_counter() - start
    start = time.perf_counter()
    for head in range(model.config.n_heads):
        trace.matrix("decoder", layers // 2, head)
    head_switch_ms = (time.perf_counter() - start) * 1000 / model.config.n_heads
    lazy = sum(isinstance(value, LazyArray) for value in trace.activations.values())
    return {"parameters": model.parameter_count, "built_s": built_s, "full_trace_bytes": full,
            "kept_bytes": kept, "lazy_hooks": lazy, "run_s": run_s, "progress_calls": len(calls),
            "peak_rss_after_run": after_run, "first_layer_read_s": first_read_s,
            "head_switch_ms": head_switch_ms, "peak_rss_after_read": peak_rss()}


def describe(figures: dict) -> str:
    return (f"{figures['parameters'] / 1e6:.0f}M parameters; full trace "
            f"{format_bytes(figures['full_trace_bytes'])}"
            f", lean keeps {format_bytes(figures['kept_bytes'])} ({figures['lazy_hooks']} hooks on demand); "
            f"run {figures['run_s']:.1f} s with {figures['progress_calls']} progress calls; peak RSS "
            f"{format_bytes(figures['peak_rss_after_run'])} after the run, "
            f"{format_bytes(figures['peak_rss_after_read'])} after reading a layer "
            f"({figures['first_layer_read_s']:.1f} s; then {figures['head_switch_ms']:.2f} ms per head)")


if __name__ == "__main__":
    print(describe(scale_case()))
