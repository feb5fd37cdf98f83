"""The memory guard: what a run would allocate, estimated from the lengths and the model before
anything large is allocated, and the budget it must fit in.

Recording keeps every hook point's value, so a Trace grows with the square of the length
(attention and scores are ``[heads, q, k]`` per layer): 10,000 tokens into the shipped
translator would record 6.6 GB. ``check_run`` refuses such a run with an ``InputError`` naming
the estimate and the limit, in well under a millisecond. ``trace_bytes`` is the one place that
knows what a Trace holds; when the Trace changes, it changes with it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from .errors import InputError
from .hooks import hook_points

FLOAT_BYTES = 4  # every recorded array is float32
# The Trace may use a quarter of the memory the system has free: building it briefly holds
# about 1.5 times its size (the recorded tensors and their contiguous numpy copies; measured in
# tests/engine/test_memory_guard.py), and the window keeps the previous trace until the new one
# arrives.
TRACE_SHARE = 1 / 4
FALLBACK_AVAILABLE = 4 * 10**9  # where the system will not say how much memory is free
# Tokenizing 10^6 characters takes about a second; beyond that, text is refused before it is read.
MAX_TEXT_CHARACTERS = 1_000_000
# Greedy decoding re-runs the decoder over the whole prefix at every step (no KV cache), so its
# cost grows with the cube of the length. Work is counted in multiply-adds (~0.025 ns each on
# two CPU cores); an attention cell costs ~7.5 ns there (its q·k, mask, softmax, copies), as
# much as 300 of them. 10^13 is about four minutes on such a machine.
CELL_COST = 300
WORK_LIMIT = 1e13
BUDGET_VARIABLE = "TRANSFORMER_INSPECTOR_MEMORY_BUDGET"  # bytes; overrides the automatic budget
WORK_VARIABLE = "TRANSFORMER_INSPECTOR_WORK_LIMIT"  # multiply-adds


@dataclass(frozen=True)
class RunEstimate:
    """What one run would cost, from its lengths alone.

    ``trace_bytes``: the recorded Trace (attention + activations + logits, as ``nbytes`` counts).
    ``working_bytes``: the most a pass that records nothing holds at once (one layer's scores
    and pattern, the logits, the stream). ``multiply_adds`` (of the matrix products) and
    ``attention_cells`` (scores computed, each masked, softmaxed and copied): decoding plus the
    final pass.
    """

    trace_bytes: int
    working_bytes: int
    multiply_adds: float
    attention_cells: float

    @property
    def work(self) -> float:
        """Operations, in multiply-adds: an attention cell counts as ``CELL_COST`` of them."""
        return self.multiply_adds + CELL_COST * self.attention_cells


def estimate_run(module, source_len: int, target_len: int, decode_steps: int = 0) -> RunEstimate:
    """The cost of a run over ``source_len`` encoder and ``target_len`` decoder positions, of
    which the last ``decode_steps`` are decoded greedily first (with the KV cache)."""
    config = module.config
    output_len = target_len if config.has_decoder else (source_len if config.output_head else 0)
    return RunEstimate(trace_bytes(module, source_len, target_len),
                       _working_bytes(config, source_len, target_len, output_len),
                       *_work(config, source_len, target_len, decode_steps))


def trace_bytes(module, source_len: int, target_len: int) -> int:
    """Bytes of the Trace a recorded pass returns: one float32 array per hook point, shaped as
    DESIGN.md names them, plus the logits (computed on first read, then kept). The ``.scores``
    are not kept: a read replays one layer (engine.full_recording). Read off the model's own
    hook points, so a model family with other points is counted as it records."""
    config = module.config
    heads, d_head, d_model = config.n_heads, config.head_dim, config.d_model
    kv_heads = getattr(config, "n_kv_heads", None) or heads
    output_len = target_len if config.has_decoder else (source_len if config.output_head else 0)
    lengths = {"encoder": source_len, "decoder": target_len}
    total = output_len * config.vocab_size if config.output_head else 0
    for name in hook_points(module):
        parts = name.split(".")
        queries = lengths.get(parts[0], output_len)  # output_transform.*: the output positions
        keys = source_len if "cross_attn" in parts else queries
        point = parts[-1]
        if point == "scores":
            continue
        if len(parts) > 1 and parts[-2] in ("self_attn", "cross_attn") and point != "out":
            total += {"q": heads * queries * d_head, "z": heads * queries * d_head,
                      "k": kv_heads * keys * d_head, "v": kv_heads * keys * d_head}.get(
                point, heads * queries * keys)  # the pattern
        elif point in ("mean", "std"):
            total += queries
        elif parts[-2:] == ["ffn", "hidden"]:
            total += queries * config.d_ff
        else:
            total += queries * d_model
    return total * FLOAT_BYTES


def _working_bytes(config, source_len: int, target_len: int, output_len: int) -> int:
    """Peak of an unrecorded pass: the largest layer's scores and pattern side by side (plus a
    boolean mask and its negation), T5's shared position bias, the FFN, the stream and logits."""
    heads = config.n_heads
    attention = []
    if config.has_encoder:
        attention.append((source_len, source_len))
    if config.has_decoder:
        attention.append((target_len, target_len))
        if config.has_encoder:
            attention.append((target_len, source_len))
    longest = max(source_len, target_len)
    square = max(q * k for q, k in attention)
    total = square * (2 * heads * FLOAT_BYTES + 2)
    if config.positions == "relative":
        total += heads * longest * longest * FLOAT_BYTES
    ffn = 3 if config.gated_ffn else 2
    total += longest * (ffn * config.d_ff + 8 * config.d_model) * FLOAT_BYTES
    return total + output_len * config.vocab_size * FLOAT_BYTES * 2  # scores and their softmax


def _work(config, source_len: int, target_len: int, decode_steps: int) -> tuple[float, float]:
    """(multiply-adds of the matrix products, attention cells computed): greedy decoding, then
    one pass over everything.

    Per layer at length L: q, k, v and output projections, q·kᵀ and pattern·v over all L² cells
    (whatever a mask hides), and the FFN. A decoding step projects only its last position.
    """
    d, heads, vocab = config.d_model, config.n_heads, config.vocab_size
    inner = heads * config.head_dim
    ffn = (3 if config.gated_ffn else 2) * d * config.d_ff
    source = float(source_len)
    encoder = (0.0, 0.0)
    if config.has_encoder:
        layers = config.n_encoder_layers
        encoder = (layers * (source * (4 * d * inner + ffn) + 2 * inner * source ** 2),
                   layers * heads * source ** 2)
    # A decoder pass over t positions costs  linear·t + square·t² + fixed  (multiply-adds), and
    # its attention  cells_linear·t + cells_square·t²  cells.
    linear = square = fixed = cells_linear = cells_square = 0.0
    if config.has_decoder:
        layers = config.n_decoder_layers
        linear, square, cells_square = layers * (4 * d * inner + ffn), layers * 2 * inner, layers * heads
        if config.has_encoder:
            linear += layers * (2 * d * inner + 2 * inner * source)
            fixed = layers * 2 * d * inner * source  # k and v of the encoder output
            cells_linear = layers * heads * source

    def decoder(t: float, t_squared: float, passes: float) -> tuple[float, float]:
        return (linear * t + square * t_squared + fixed * passes,
                cells_linear * t + cells_square * t_squared)

    positions = target_len if config.has_decoder else source_len
    head = positions * d * vocab if config.output_head else 0.0
    final = decoder(target_len, float(target_len) ** 2, 1) if config.has_decoder else (0.0, 0.0)
    macs, cells = encoder[0] + final[0] + head, encoder[1] + final[1]
    if decode_steps > 0:
        # With the KV cache (engine.kv_cache) the first step reads the whole prefix; each later
        # step computes its one new position against the keys so far, and the encoder output's
        # keys and values are projected once.
        first, later = target_len - decode_steps, decode_steps - 1
        steps = decoder(first + later, first ** 2 + later * first + later * (later + 1) / 2, 1)
        macs += encoder[0] + steps[0] + decode_steps * d * vocab
        cells += encoder[1] + steps[1]
    return macs, cells


# ---- the budget ---------------------------------------------------------------------------
def available_memory() -> int:
    """Bytes the system can hand out now: Linux's MemAvailable, else the free pages, else 4 GB."""
    try:
        with open("/proc/meminfo", encoding="ascii") as stream:
            for line in stream:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return FALLBACK_AVAILABLE


def _override(model, attribute: str, variable: str) -> float | None:
    """A limit set on the model (tests) or in the environment, or None for the default."""
    value = getattr(model, attribute, None)
    if value is not None:
        return float(value)
    text = os.environ.get(variable, "").strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise InputError(f"the environment variable {variable}={text!r} is not a number") from None


def memory_budget(model=None) -> int:
    """Bytes a run may record: ``model.memory_budget``, else $TRANSFORMER_INSPECTOR_MEMORY_BUDGET,
    else a quarter of the memory available now."""
    override = _override(model, "memory_budget", BUDGET_VARIABLE)
    return int(override) if override is not None else int(available_memory() * TRACE_SHARE)


def work_limit(model=None) -> float:
    override = _override(model, "work_limit", WORK_VARIABLE)
    return override if override is not None else WORK_LIMIT


def format_bytes(count: float) -> str:
    """1.23e9 -> "1.2 GB" (decimal units, as a system monitor shows them)."""
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= size:
            return f"{count / size:.1f} {unit}"
    return f"{int(count)} bytes"


# ---- the checks ----------------------------------------------------------------------------
def check_text(text: str, what: str) -> None:
    """Refuse text too long to tokenize quickly, or that is not text at all (a lone surrogate,
    which Python strings allow and no encoding can write), before the tokenizer reads it."""
    if len(text) > MAX_TEXT_CHARACTERS:
        raise InputError(f"the {what} has {len(text):,} characters; at most {MAX_TEXT_CHARACTERS:,} "
                         "are accepted: shorten it")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise InputError(f"the {what} holds a lone surrogate (U+{ord(text[error.start]):04X}) at "
                         f"character {error.start + 1:,}, which is not text: remove it") from None


def check_run(model, source_len: int, target_len: int, *, record: bool,
              decode_steps: int = 0) -> RunEstimate:
    """Raise ``InputError`` when the run would outgrow the memory budget or the work limit.

    ``target_len`` includes the ``decode_steps`` a greedy decode may add, so a decoded run is
    judged by its longest outcome, before it starts.
    """
    estimate = estimate_run(model.module, source_len, target_len, decode_steps)
    lengths = " + ".join(f"{n:,} {side}" for n, side in ((source_len, "source"), (target_len, "target"))
                         if n) + " tokens"
    decoding = f", decoding up to {decode_steps:,} new tokens" if decode_steps else ""
    advice = "shorten it" + (" or ask for fewer new tokens" if decode_steps else "")
    budget = memory_budget(model)
    needed = estimate.trace_bytes if record else estimate.working_bytes
    if needed > budget:
        what = "record" if record else "need"
        raise InputError(f"this input would {what} {format_bytes(needed)} ({lengths}{decoding}); "
                         f"the limit is {format_bytes(budget)}: {advice}")
    limit = work_limit(model)
    if estimate.work > limit:
        raise InputError(f"this run would take {estimate.work:.1e} operations ({lengths}{decoding}"
                         f"); the limit is {limit:.0e}: {advice}")
    return estimate
