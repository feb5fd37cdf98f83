"""What the benchmark scripts share: a median timer and a wide random encoder-only model."""

from __future__ import annotations

import statistics
import time

import engine

WORDS = "the a cat dog sees small big red house sleeps runs and".split()


def median_ms(fn, repeats: int) -> float:
    """Median wall time of ``fn()`` over ``repeats`` runs, after one warm-up run."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def wide_encoder(layers: int, heads: int, d_model: int, d_ff: int, name: str):
    """A random encoder-only model with many heads, to time views at their worst."""
    tokenizer = engine.word_level_tokenizer(WORDS)
    config = engine.ModelConfig(architecture="encoder-only", vocab_size=tokenizer.vocab_size,
                                d_model=d_model, n_heads=heads, n_encoder_layers=layers,
                                n_decoder_layers=0, d_ff=d_ff, dropout=0.0)
    return engine.create(config, tokenizer, name)


def sentence_of(tokens: int) -> str:
    """Text that tokenizes to exactly ``tokens`` positions (the words plus ``</s>``)."""
    return " ".join(WORDS[i % len(WORDS)] for i in range(tokens - 1))
