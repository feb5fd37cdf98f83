"""The engine rows: forward against transformers, recording's cost, the FLOP floor, decoding,
trace bytes and TransformerLens. Contenders of a row run in the same interleaved rounds."""

from __future__ import annotations

import importlib.util

import numpy as np

from . import engine_cases as cases
from .rounds import interleave
from .rows import BY_KEY, Result


def _ms(samples, name: str) -> str:
    return f"{name} {samples.median(name):.0f} ms"


def _shape(family: str, scale: str):
    return (cases.TINY if scale == "tiny" else cases.FULL)[family]


def forward_group(family: str, scale: str, rounds: int, warmup: int, wanted: set[str]) -> list[Result]:
    """Ours recorded (and unrecorded, and a matmul, for Marian) against transformers eager."""
    shape = _shape(family, scale)
    ours = cases.our_model(family, shape)
    source = cases.text_of(shape)
    target = cases.text_of(shape, shape.tokens - 1) if shape.decoder_layers else None
    trace = ours.run(source, target)
    # A trace computes its logits when first read (engine.full_recording): the second contender
    # reads them all, the work transformers does in its pass.
    contenders = {"ours recorded": lambda: ours.run(source, target),
                  "ours + logits read": lambda: np.asarray(ours.run(source, target).logits)}
    reference_row = f"forward-{family}"
    if reference_row in wanted:
        theirs = cases.reference_model(family, shape, ours.config.vocab_size)
        contenders["transformers eager"] = cases.reference_forward(theirs, *cases.ids_of(trace))
    if family == "marian" and wanted & {"record-cost", "flop-floor"}:
        contenders["ours record=False"] = lambda: ours.run(source, target, record=False)
    if family == "marian" and "flop-floor" in wanted:
        contenders["matmul"], matmul_flops = cases.matmul_case()
        model_flops = cases.forward_flops(ours, source, target)
    samples = interleave(contenders, rounds, warmup)
    rounds_text = f"{rounds} rounds"
    tokens = len(trace.source_tokens) or len(trace.target_tokens)
    results = []
    if reference_row in wanted:
        results.append(Result(BY_KEY[reference_row], samples.ratio("ours recorded", "transformers eager"),
                              f"{_ms(samples, 'ours recorded')} / {_ms(samples, 'transformers eager')}, "
                              f"{tokens} tokens, {rounds_text}; with every logit read "
                              f"{samples.median('ours + logits read'):.0f} ms = "
                              f"{samples.ratio('ours + logits read', 'transformers eager'):.2f}×"))
    if "record-cost" in wanted and family == "marian":
        results.append(Result(BY_KEY["record-cost"], samples.ratio("ours recorded", "ours record=False"),
                              f"{_ms(samples, 'ours recorded')} / {_ms(samples, 'ours record=False')}, "
                              f"{rounds_text}"))
    if "flop-floor" in wanted and family == "marian":
        gflops = matmul_flops / samples.median("matmul") / 1e6
        floor_ms = model_flops / gflops / 1e6
        results.append(Result(BY_KEY["flop-floor"], samples.median("ours + logits read") / floor_ms,
                              f"{_ms(samples, 'ours + logits read')} / floor {floor_ms:.0f} ms "
                              f"({model_flops / 1e9:.1f} GFLOP at {gflops:.0f} GFLOP/s), {rounds_text}"))
    if "trace-bytes" in wanted and family == "marian":
        total, distinct, scores = cases.trace_bytes(trace)
        logits = len(trace.target_ids) * ours.config.vocab_size * 4
        results.append(Result(BY_KEY["trace-bytes"], distinct / 1e6,
                              f"arrays' nbytes add up to {total / 1e6:.0f} MB; {distinct / 1e6:.0f} MB "
                              f"distinct ({(total - distinct) / 1e6:.0f} MB shared views); computed "
                              f"when read: {logits / 1e6:.0f} MB of logits (then kept), "
                              f"{scores / 1e6:.0f} MB of `.scores` (a layer's replay, the last two "
                              f"layers kept)"))
    return results


def decode_group(scale: str, rounds: int, warmup: int, wanted: set[str]) -> list[Result]:
    """A fixed number of greedy tokens: ours (no end token, so every step runs) against generate()."""
    shape = _shape("decode", scale)
    new_tokens = cases.DECODE_TOKENS[scale]
    ours = cases.our_model("decode", shape, stop=False)
    source = cases.text_of(shape)
    trace = ours.run(source, record=False, max_new_tokens=new_tokens)
    if len(trace.target_ids) != new_tokens + 1:
        raise RuntimeError(f"the engine decoded {len(trace.target_ids) - 1} tokens, not {new_tokens}")
    theirs = cases.reference_model("decode", shape, ours.config.vocab_size)
    contenders = {
        "ours": lambda: ours.run(source, record=False, max_new_tokens=new_tokens),
        "generate": cases.reference_generate(theirs, cases.ids_of(trace)[0], new_tokens),
    }
    samples = interleave(contenders, rounds, warmup)
    return [Result(BY_KEY["decode"], samples.ratio("ours", "generate"),
                   f"{_ms(samples, 'ours')} / {_ms(samples, 'generate')} for {new_tokens} tokens after "
                   f"{len(trace.source_ids)} source tokens, {rounds} rounds")]


def _lens_run(bridge, tokens):
    """run_with_cache as a notebook calls it, every cached tensor read as numpy."""
    import torch

    def run():
        with torch.inference_mode():
            logits, cache = bridge.run_with_cache(tokens)
        return [logits.numpy()] + [value.numpy() for value in cache.values()]
    return run


def _largest_gaps(trace, bridge, tokens) -> tuple[float, float]:
    """Largest |ours - TL| over every layer's attention pattern, and over the logits (each
    position's mean over the vocabulary taken out: center_unembed shifts it, softmax ignores it)."""
    import torch

    with torch.inference_mode():
        logits, cache = bridge.run_with_cache(tokens)
    ours = trace.attention["decoder"]
    pattern = max(float(np.abs(ours[i] - cache[f"blocks.{i}.attn.hook_pattern"][0].numpy()).max())
                  for i in range(len(ours)))
    mine, theirs = np.asarray(trace.logits), logits[0].numpy()
    centred = (mine - mine.mean(-1, keepdims=True)) - (theirs - theirs.mean(-1, keepdims=True))
    return pattern, float(np.abs(centred).max())


def lens_group(scale: str, rounds: int, warmup: int, wanted: set[str]) -> list[Result]:
    """Ours recorded against TransformerLens 4's run_with_cache on one set of random weights:
    as TL boots (raw weights) and in its compatibility mode (HookedTransformer's processing),
    with transformers eager in the same rounds for TL's own overhead."""
    row = BY_KEY["lens"]
    if importlib.util.find_spec("transformer_lens") is None:
        return [Result(row, None, note="not installed (benchmarks/README.md says how, in its own venv)")]
    import transformer_lens.model_bridge  # noqa: F401  (an import error fails the row, named)

    shape = _shape("gpt2", scale)
    ours, theirs = cases.shared_gpt2(shape)
    text = cases.text_of(shape)
    trace = ours.run(text, max_new_tokens=0)
    tokens = cases.ids_of(trace)[1]
    booted, compatible = cases.lens_bridge(theirs, False), cases.lens_bridge(theirs, True)
    gaps = {name: _largest_gaps(trace, bridge, tokens)
            for name, bridge in (("booted", booted), ("compatibility", compatible))}
    contenders = {"ours": lambda: ours.run(text, max_new_tokens=0),
                  "ours + logits": lambda: np.asarray(ours.run(text, max_new_tokens=0).logits),
                  "TL": _lens_run(booted, tokens), "TL compat": _lens_run(compatible, tokens),
                  "eager": cases.reference_forward(theirs, tokens, None)}
    samples = interleave(contenders, rounds, warmup)
    ratio = samples.ratio
    detail = (f"{_ms(samples, 'ours')} (+ every logit read {samples.median('ours + logits'):.0f} ms, "
              f"{ratio('ours + logits', 'TL'):.2f}×) / TL {samples.median('TL'):.0f} ms; "
              f"TL compatibility mode {samples.median('TL compat'):.0f} ms "
              f"(ours {ratio('ours', 'TL compat'):.2f}×); transformers eager "
              f"{samples.median('eager'):.0f} ms: TL {ratio('TL', 'eager'):.2f}× eager, "
              f"compat {ratio('TL compat', 'eager'):.2f}×, ours {ratio('ours', 'eager'):.2f}×. "
              f"Same random weights, largest gap to TL: patterns {gaps['booted'][0]:.1e}, logits "
              f"{gaps['booted'][1]:.1e} (compat {gaps['compatibility'][0]:.1e} / "
              f"{gaps['compatibility'][1]:.1e}; logits less each row's mean). TransformerLens "
              f"{_version('transformer_lens')} bridge over GPT2LMHeadModel, run_with_cache under "
              f"inference_mode; {len(trace.target_ids)} tokens, {rounds} rounds")
    return [Result(row, ratio("ours", "TL"), detail)]


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "?"
