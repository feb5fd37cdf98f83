"""The rows of issue 11's table: what each measures, its target, and how a result reads."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    key: str  # the name ``--only`` takes
    group: str  # the measurement that makes it (rows of one group share their rounds)
    what: str
    limit: float  # pass when the measured value is at most this
    unit: str  # "×" (a ratio of medians), "ms", "s" or "MB"
    before: str  # what issue 11 measured before this work

    def target(self) -> str:
        return f"≤ {self.limit:g}{'' if self.unit == '×' else ' '}{self.unit}"


ROWS = [
    Row("forward-marian", "marian", "recorded forward / transformers eager with attentions + hidden "
        "states, Marian-size 6+6×512, 512 tokens", 0.85, "×", "1.26"),
    Row("forward-t5", "t5", "same, T5-small size, 512 tokens", 0.85, "×", "1.26"),
    Row("forward-bert", "bert", "same, the project's BERT-shape benchmark (6×12×384), 512 tokens",
        0.85, "×", "1.32–1.47"),
    Row("record-cost", "marian", "recorded / `record=False`, Marian-size, 512 tokens", 1.10, "×",
        "1.24–1.29"),
    Row("flop-floor", "marian", "recorded forward / the FLOP floor (its matmul FLOPs at the matmul "
        "GFLOP/s measured in the same rounds), Marian-size, 512 tokens", 1.5, "×", "2.0"),
    Row("decode", "decode", "greedy decode of 64 tokens (`record=False`) / transformers `generate` "
        "(KV cache), Marian-size", 1.1, "×", "1.5–1.9"),
    Row("gui-hover", "gui", "hover one heatmap cell, 2,048 tokens (mouse move → painted)", 16, "ms",
        "378–464"),
    Row("gui-head", "gui", "head switch, 2,048 tokens", 16, "ms", "13–20"),
    Row("gui-layer", "gui", "layer switch, 2,048 tokens", 16, "ms", "13–20"),
    Row("gui-kind", "gui", "kind switch, 2,048 tokens", 16, "ms", "13–20"),
    Row("gui-mean", "gui", "mean-of-heads switch, 2,048 tokens (a layer shown before)", 33, "ms",
        "48–51"),
    Row("gui-mean-first", "gui", "mean-of-heads switch, 2,048 tokens, first on its layer after a run",
        33, "ms", "48–51"),
    Row("run-click", "run-click", "Run click → trace shown / the bare engine run, same input "
        "(BERT shape, 512 tokens)", 1.3, "×", "≈ 2.7"),
    Row("trace-bytes", "marian", "Trace bytes, Marian-size, 512 tokens (distinct memory)", 450, "MB",
        "685"),
    Row("launch-window", "startup", "launch → window shown", 0.8, "s", "0.58"),
    Row("launch-trace", "startup", "launch → first trace drawn", 2.5, "s", "2.76"),
    Row("lens", "lens", "recorded forward / TransformerLens `run_with_cache`, GPT-2-small shape, "
        "512 tokens", 0.75, "×", "(TransformerLens: 1.09–1.13× eager)"),
]
BY_KEY = {row.key: row for row in ROWS}


@dataclass
class Result:
    row: Row
    value: float | None  # None: not measured (``note`` says why)
    detail: str = ""  # the medians behind the value
    note: str = ""

    @property
    def status(self) -> str:
        if self.value is None:
            return self.note or "not run"
        return "pass" if self.value <= self.row.limit else "miss"

    def measured(self) -> str:
        if self.value is None:
            return "—"
        unit = self.row.unit
        digits = 2 if unit in ("×", "s") else 1 if unit == "ms" else 0
        return f"{self.value:.{digits}f}{'' if unit == '×' else ' '}{unit}"
