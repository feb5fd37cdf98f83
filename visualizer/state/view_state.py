"""ViewState: everything the app shows, as plain Python. The GUI and the CLI build the same one.

No Qt here: the window wraps it in ``AppState`` (signals), ``python main.py export`` fills one
from its arguments, and both hand it to the same pane code to make figures and data.
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from collections.abc import Callable

import numpy as np

from engine.kinds import HEAD_MODES, KINDS
from engine.readable_tokens import readable_tokens

COLORMAPS = ("viridis", "magma", "inferno", "plasma", "cividis")  # perceptually uniform

# Every view option, with its default. Panes read them here, never from their widgets.
OPTIONS: dict[str, object] = {
    "colormap": "viridis",  # attention colormap
    "auto_levels": False,  # False: attention levels fixed to 0..1
    "label_rows_by_prediction": False,  # decoder rows labelled by the predicted next token
    "lines_all_heads": False,  # head lines: every head of the layer, one colour each
    "activation_head": "all",  # q/k/v/z hooks: one head, or "all" side by side
    "clip_outliers": False,  # activation colours at the 99th percentile of |value|
    "depth_stack": "",  # depth plots: "encoder", "decoder", or "" to follow the attention kind
    "depth_log_scale": False,
    "top_k": 10,  # predictions: tokens listed per position (engine.predictions.DEFAULT_TOP_K)
    "predictions_every_position": False,  # with a [MASK] in the text: list every position too
    "max_new_tokens": None,  # decoder-only continuation; None: the engine's DECODER_ONLY_CONTINUATION
    "compare_source": "",  # compare: run b's input ("" : run a's)
    "compare_checkpoint": "",  # compare: run b's checkpoint path ("" : the open model)
    "importance_metric": "kl",  # head importance map: "kl" or "argmax_changed"
    "patch_clean": "",  # patching: the clean text ("": the source box's)
    "patch_corrupted": "",  # patching: the corrupted text, of the clean one's token length
    "attention_weighting": "weight",  # attention pane: "weight" or "value-norm" (a·‖v W_O‖, rows sum to 1)
    "rollout_head": "mean",  # rollout: heads fused by "mean" or "max"
    "lens_color": "top",  # logit lens: colour by the "top" token's probability or the "target"'s
    "head_stat": "entropy",  # head statistics: the statistic the overview is coloured by
}
SUMMARIES_KEPT = 8  # mean/max-of-heads matrices kept per trace (16 MB each at 2,048 tokens)
CHANGES = ("model", "inputs", "trace", "selection", "options", "ablation", "hover", "pane", "loading",
           "compare")


class ViewState:
    """The model, the inputs, the trace, the selection, every view option and the pane in front.

    ``subscribe(listener)`` registers ``listener(change)``, called with one of ``CHANGES`` after
    the state changed; setters notify only when something did change.
    """

    def __init__(self) -> None:
        self.model = None  # engine.InspectableModel
        self.trace = None  # engine.Trace
        self.source_text = ""  # what the input boxes hold now
        self.target_text = ""
        self.trace_inputs: tuple[str, str] = ("", "")  # (source, target) the trace was run on
        self.kind = "encoder"
        self.layer = 0
        self.head: int | str = 0  # an index, "mean" or "max"
        self.hook = ""  # the activation hook shown in the activations pane
        self.hover: tuple[str, int] = ("", -1)  # ("source" | "target", position); -1 for none
        self.ablated: frozenset[tuple[str, int, int]] = frozenset()  # (kind, layer, head)
        self.front_pane = "attention"
        self.loading = ""  # the name of the checkpoint being opened, "" when none is
        self.second_run = None  # the compare pane's run b (state.comparison.SecondRun), or None
        self.head_stats_corpus = None  # head statistics over a corpus (engine CorpusStats), or None
        self._masks: dict[tuple[str, int], np.ndarray | None] = {}  # of the current trace
        self._recent_masks: list[np.ndarray] = []  # the previous trace's, for reuse
        for name, value in OPTIONS.items():
            setattr(self, name, value)
        self._listeners: list[Callable[[str], None]] = []

    def subscribe(self, listener: Callable[[str], None]) -> None:
        self._listeners.append(listener)

    def _notify(self, change: str) -> None:
        for listener in list(self._listeners):
            listener(change)

    # ---- setters --------------------------------------------------------------------------
    def set_model(self, model, selection: dict | None = None) -> None:
        """A new model: the trace and ablation are cleared; ``selection`` (kind/layer/head) applies."""
        self.model = model
        self.trace = None
        self._masks, self._recent_masks = {}, []
        self.ablated = frozenset()  # another model's heads mean nothing here
        self.head_stats_corpus = None
        self.hover = ("", -1)
        kinds = self.kinds()
        if kinds and self.kind not in kinds:
            self.kind = "cross" if "cross" in kinds else kinds[0]
        unknown = set(selection or {}) - {"kind", "layer", "head"}
        if unknown:
            raise AttributeError(f"a model opens on a kind, layer and head, not {sorted(unknown)}")
        for name, value in (selection or {}).items():
            setattr(self, name, value)
        self._clamp_selection()
        self._notify("model")
        self._notify("trace")
        self._notify("selection")
        self._notify("hover")

    def set_inputs(self, source: str, target: str = "") -> None:
        if (source, target) != (self.source_text, self.target_text):
            self.source_text, self.target_text = source, target
            self._notify("inputs")

    def set_trace(self, trace, inputs: tuple[str, str] | None = None) -> None:
        """Show ``trace``, run on ``inputs`` (default: the current input texts)."""
        if trace is not self.trace:
            # Equal masks of the last trace (same lengths) are handed out again as the same
            # arrays, so views skip redrawing them after a rerun.
            self._recent_masks = [m for m in self._masks.values() if m is not None]
            self._masks = {}
        self.trace = trace
        self.trace_inputs = inputs if inputs is not None else (self.source_text, self.target_text)
        if trace is not None and trace.attention and self.kind not in trace.attention:
            self.kind = next(iter(trace.attention))
        self._clamp_selection()
        self._notify("trace")

    def set_selection(self, kind: str | None = None, layer: int | None = None,
                      head: int | str | None = None, hook: str | None = None) -> None:
        before = (self.kind, self.layer, self.head, self.hook)
        for name, value in (("kind", kind), ("layer", layer), ("head", head), ("hook", hook)):
            if value is not None:
                setattr(self, name, value)
        self._clamp_selection()
        if (self.kind, self.layer, self.head, self.hook) != before:
            self._notify("selection")

    def set_hover(self, side: str, position: int) -> None:
        if (side, position) != self.hover:
            self.hover = (side, position)
            self._notify("hover")

    def set_option(self, **options) -> None:
        """Change view options (the names in ``OPTIONS``); AttributeError for any other name."""
        unknown = sorted(set(options) - set(OPTIONS))
        if unknown:
            raise AttributeError(f"unknown view option {unknown[0]!r}; options: {', '.join(OPTIONS)}")
        changed = [name for name, value in options.items() if getattr(self, name) != value]
        for name in changed:
            setattr(self, name, options[name])
        if changed:
            self._notify("options")

    def set_front_pane(self, name: str) -> None:
        if name != self.front_pane:
            self.front_pane = name
            self._notify("pane")

    def set_loading(self, name: str) -> None:
        if name != self.loading:
            self.loading = name
            self._notify("loading")

    def set_second_run(self, run) -> None:
        """The compare pane's run b (or None), with its model and any message."""
        if run is not self.second_run:
            self.second_run = run
            self._notify("compare")

    def set_head_stats_corpus(self, result) -> None:
        """Head statistics over a corpus (``engine.corpus_stats.CorpusStats``), or None: this trace's."""
        if result is not self.head_stats_corpus:
            self.head_stats_corpus = result
            self._notify("options")  # the head-stats pane's own setting

    def toggle_ablation(self, kind: str, layer: int, head: int) -> None:
        """Ablate the head if it is not, restore it if it is."""
        self.ablated = self.ablated ^ {(kind, layer, head)}
        self._notify("ablation")

    def clear_ablation(self) -> None:
        if self.ablated:
            self.ablated = frozenset()
            self._notify("ablation")

    def set_ablation(self, heads) -> None:
        """Ablate exactly ``heads``, (kind, layer, head) items: "keep only" sets all but a few."""
        heads = frozenset(heads)
        if heads != self.ablated:
            self.ablated = heads
            self._notify("ablation")

    # ---- derived values ---------------------------------------------------------------------
    def kinds(self) -> tuple[str, ...]:
        return self.model.kinds if self.model is not None else ()

    def n_layers(self, kind: str | None = None) -> int:
        return self.model.n_layers(kind or self.kind) if self.model is not None else 0

    def n_heads(self) -> int:
        return self.model.config.n_heads if self.model is not None else 0

    def model_name(self) -> str:
        if self.trace is not None and self.trace.model_name:
            return self.trace.model_name
        return self.model.name if self.model is not None else ""

    def attention_matrix(self, kind=None, layer=None, head=None) -> np.ndarray | None:
        """The ``[queries, keys]`` matrix of a selection (default: the current one), or None.

        The mean and max over heads are kept for the last few layers asked (read-only): each is
        a pass over every head's pattern (~40 ms at 2,048 tokens), and several panes ask for it.
        """
        trace = self.trace
        if trace is None:
            return None
        key = (kind or self.kind, self.layer if layer is None else layer, self.head if head is None else head)
        summary = key[2] in HEAD_MODES
        if summary:
            cache = self.__dict__.get("_summary_cache")
            if cache is None or cache[0]() is not trace:
                cache = self._summary_cache = (weakref.ref(trace), OrderedDict())
            if key in cache[1]:
                cache[1].move_to_end(key)
                return cache[1][key]
        try:
            matrix = trace.matrix(*key)
        except ValueError:
            return None
        if summary:
            matrix.flags.writeable = False
            cache[1][key] = matrix
            while len(cache[1]) > SUMMARIES_KEPT:
                cache[1].popitem(last=False)
        return matrix

    def masked_cells(self, kind=None, layer=None) -> np.ndarray | None:
        """``[queries, keys]`` booleans, True where a mask hides the key from the query (causal,
        padding or local window): those weights are exactly 0 by construction, not learned.

        Read from the recorded softmax input, which is -inf exactly there; None without one.
        Kept per trace, and one read-only array for equal masks (a causal mask is the same on
        every layer), so a view can tell by identity that it has nothing new to draw.
        """
        if self.trace is None:
            return None
        key = (kind or self.kind, self.layer if layer is None else layer)
        if key not in self._masks:
            self._masks[key] = self._read_mask(*key)
        return self._masks[key]

    def _read_mask(self, kind: str, layer: int) -> np.ndarray | None:
        # The run's own masks (Trace.masked_cells), never its ``.scores``: those are computed on
        # first read, a replay of the layer on the GUI thread.
        masked = self.trace.masked_cells(kind, layer)
        return None if masked is None else self._shared_mask(masked)

    def remember_masks(self, trace, masks: dict) -> None:
        """Keep masks read from ``trace`` elsewhere (``(kind, layer) -> mask or None``): a pool
        thread reading a lean trace's layers reads their masks too, so none is replayed again here."""
        if trace is self.trace:
            for key, masked in masks.items():
                if key not in self._masks:
                    self._masks[key] = None if masked is None else self._shared_mask(masked)

    def _shared_mask(self, masked: np.ndarray) -> np.ndarray | None:
        if not masked.any():
            return None
        for known in [*self._masks.values(), *self._recent_masks]:
            if known is not None and known.shape == masked.shape and np.array_equal(known, masked):
                return known
        masked.flags.writeable = False
        return masked

    def rows_by_prediction(self, kind: str | None = None) -> bool:
        """Whether rows show the predicted next tokens (decoder queries only, when asked)."""
        kind = kind or self.kind
        return (self.label_rows_by_prediction and KINDS[kind].queries == "target"
                and self.trace is not None and bool(self.trace.predicted_tokens))

    # Token labels. Every label a user sees (axes, chips, hovers, figures, CSV) is the readable
    # form ("Ġcaf" → "·caf"); the *_pieces methods give the tokenizer's own pieces (NPZ files).
    def token_labels(self, side: str) -> list[str]:
        """The readable tokens of "source", "target" or "predicted" (the argmax next tokens)."""
        return [] if self.trace is None else list(self._readable(side))

    def query_labels(self, kind=None) -> list[str]:
        """Row labels: the tokens at each query position, or the predicted next tokens, readable."""
        if self.trace is None:
            return []
        kind = kind or self.kind
        return list(self._readable("predicted" if self.rows_by_prediction(kind) else KINDS[kind].queries))

    def key_labels(self, kind=None) -> list[str]:
        return [] if self.trace is None else list(self._readable(KINDS[kind or self.kind].keys))

    def query_pieces(self, kind=None) -> list[str]:
        """The tokenizer's own pieces behind ``query_labels``."""
        if self.trace is None:
            return []
        kind = kind or self.kind
        if self.rows_by_prediction(kind):
            return list(self.trace.predicted_tokens)
        return list(self.trace.query_tokens(kind))

    def key_pieces(self, kind=None) -> list[str]:
        return [] if self.trace is None else list(self.trace.key_tokens(kind or self.kind))

    def _readable(self, side: str) -> list[str]:
        # Made once per trace: hovers read labels on every mouse move, at 2,048 tokens too. The
        # trace is held weakly, so a replaced trace's arrays are freed as before.
        trace = self.trace
        cache = self.__dict__.get("_readable_cache")
        if cache is None or cache[0]() is not trace:
            cache = self._readable_cache = (weakref.ref(trace), {})
        labels = cache[1].get(side)
        if labels is None:
            pieces = trace.predicted_tokens if side == "predicted" else trace.tokens(side)
            labels = cache[1][side] = readable_tokens(pieces, trace.token_style)
        return labels

    def _clamp_selection(self) -> None:
        if self.model is None:
            return
        self.layer = max(0, min(self.layer, self.n_layers() - 1))
        if isinstance(self.head, int):
            self.head = max(0, min(self.head, self.n_heads() - 1))
