"""The engine rows: forward against transformers, recording's cost, the FLOP floor, decoding,
trace bytes and TransformerLens. Contenders of a row run in the same interleaved rounds."""

from __future__ import annotations

import importlib.util

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
    contenders = {"ours recorded": lambda: ours.run(source, target)}
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
                              f"{tokens} tokens, {rounds_text}"))
    if "record-cost" in wanted and family == "marian":
        results.append(Result(BY_KEY["record-cost"], samples.ratio("ours recorded", "ours record=False"),
                              f"{_ms(samples, 'ours recorded')} / {_ms(samples, 'ours record=False')}, "
                              f"{rounds_text}"))
    if "flop-floor" in wanted and family == "marian":
        gflops = matmul_flops / samples.median("matmul") / 1e6
        floor_ms = model_flops / gflops / 1e6
        results.append(Result(BY_KEY["flop-floor"], samples.median("ours recorded") / floor_ms,
                              f"{_ms(samples, 'ours recorded')} / floor {floor_ms:.0f} ms "
                              f"({model_flops / 1e9:.1f} GFLOP at {gflops:.0f} GFLOP/s), {rounds_text}"))
    if "trace-bytes" in wanted and family == "marian":
        total, distinct = cases.trace_bytes(trace)
        results.append(Result(BY_KEY["trace-bytes"], distinct / 1e6,
                              f"arrays' nbytes add up to {total / 1e6:.0f} MB; {distinct / 1e6:.0f} MB "
                              f"distinct ({(total - distinct) / 1e6:.0f} MB shared views)"))
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


def lens_group(scale: str, rounds: int, warmup: int, wanted: set[str]) -> list[Result]:
    row = BY_KEY["lens"]
    if importlib.util.find_spec("transformer_lens") is None:
        return [Result(row, None, note="not installed")]
    import torch
    from transformer_lens import HookedTransformer, HookedTransformerConfig

    shape = _shape("gpt2", scale)
    ours = cases.our_model("gpt2", shape)
    text = cases.text_of(shape)
    trace = ours.run(text, max_new_tokens=0)
    config = HookedTransformerConfig(n_layers=shape.decoder_layers, d_model=shape.d_model,
                                     d_head=shape.d_model // shape.heads, n_heads=shape.heads,
                                     d_mlp=shape.d_ff, d_vocab=ours.config.vocab_size, n_ctx=1024,
                                     act_fn="gelu_new", normalization_type="LN")
    lens = HookedTransformer(config).eval()
    tokens = torch.tensor([trace.target_ids])

    def lens_run():
        with torch.inference_mode():
            _logits, cache = lens.run_with_cache(tokens)
        return [value.numpy() for value in cache.values()]

    samples = interleave({"ours recorded": lambda: ours.run(text, max_new_tokens=0),
                          "run_with_cache": lens_run}, rounds, warmup)
    return [Result(row, samples.ratio("ours recorded", "run_with_cache"),
                   f"{_ms(samples, 'ours recorded')} / {_ms(samples, 'run_with_cache')}, "
                   f"{len(trace.target_ids)} tokens, {rounds} rounds")]
