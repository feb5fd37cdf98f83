"""InspectableModel: a Transformer with its tokenizer, run on text and returning a Trace."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping

import torch

from .config import ModelConfig
from .decoding import greedy_decode
from .errors import InputError
from .full_recording import full_forward
from .hooks import interventions
from .lean_recording import lean_forward
from .memory_guard import check_run, check_text, estimate_run, memory_budget
from .model import Transformer
from .on_first_read import Pending
from .run_progress import LayerWatch, run_layers, watching
from .tokenizer import Tokenizer
from .trace import Trace

DECODER_ONLY_CONTINUATION = 20  # default new tokens after a decoder-only prompt


class InspectableModel:
    """What ``engine.load`` returns: name, config, kinds, ``run`` and ``save``."""

    def __init__(self, module: Transformer, tokenizer: Tokenizer, name: str,
                 training: dict | None = None, target_tokenizer: Tokenizer | None = None,
                 source_path: str | None = None):
        self.module = module.eval()
        self.tokenizer = tokenizer
        self.target_tokenizer = target_tokenizer or tokenizer
        self.name = name
        self.training = training or {}
        self.source_path = source_path
        # The file is the user's: a model with NaN or inf weights loads, and the GUI says which.
        self.nonfinite_tensors = nonfinite_tensors(self.module)
        # Overrides of the run limits (engine.memory_guard), for tests: bytes a run may record
        # (None: a quarter of the memory free), and operations a run may take (RunEstimate.work).
        self.memory_budget: int | None = None
        self.work_limit: float | None = None
        # True: a run whose full trace would outgrow the budget records lean (engine.lean_recording)
        # instead of being refused; its working memory is still checked against the budget.
        self.lean_over_budget = False
        # Hooks live on the shared module for one run: two runs at once (GUI pool threads)
        # would see each other's hooks, so runs on one model take turns. Re-entrant: a lean
        # trace's value read inside a run (a patch value) replays its layer on the same thread.
        self._run_lock = threading.RLock()
        self._watch = LayerWatch()  # the running run's progress and cancel callbacks

    @property
    def config(self) -> ModelConfig:
        return self.module.config

    @property
    def kinds(self) -> tuple[str, ...]:
        return self.config.kinds

    @property
    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.module.parameters())

    def n_layers(self, kind: str) -> int:
        return self.config.n_encoder_layers if kind == "encoder" else self.config.n_decoder_layers

    def save(self, path) -> None:
        """Write a native checkpoint (``.safetensors``; ``.pt`` also works)."""
        from .checkpoint import save

        save(self, path)

    def translate(self, source: str, **kwargs) -> str:
        """The model's greedy output for ``source``, as text."""
        return self.run(source, record=False, **kwargs).output_text

    # ---- running ----------------------------------------------------------
    def run(self, source: str, target: str | None = None, *, ablate: Iterable = (),
            patch: Mapping | None = None, record: bool = True,
            max_new_tokens: int | None = None, progress=None, should_stop=None) -> Trace:
        """Tokenize, decode greedily if ``target`` is None, then record one teacher-forced pass.

        ``ablate`` lists ``(kind, layer, head)`` whose ``.z`` is zeroed (while decoding, too).
        ``patch`` maps hook names to Trace-shaped arrays used in place of the computed values;
        it needs a fixed target, as nothing may be decoded. See DESIGN.md "Interventions".
        ``progress(done, total)`` is called as each layer finishes (decoding steps included);
        ``should_stop()`` is asked then, and True raises ``engine.Cancelled``. With
        ``lean_over_budget``, a trace larger than the memory budget is recorded lean
        (engine.lean_recording) rather than refused.
        """
        with self._run_lock:
            self._watch = LayerWatch(progress, should_stop)
            return self._run(source, target, ablate, patch or {}, record, max_new_tokens)

    def _records_lean(self, record: bool, source_len: int, target_len: int) -> bool:
        """Whether the full trace would outgrow the memory budget, so the run records lean."""
        return record and self.lean_over_budget and \
            estimate_run(self.module, source_len, target_len).trace_bytes > memory_budget(self)

    def _run(self, source, target, ablate, patch: Mapping, record: bool,
             max_new_tokens: int | None) -> Trace:
        ablated = self._check_ablation(ablate)
        lean = False
        if not isinstance(patch, Mapping):
            raise InputError(f"patch must map hook names to arrays, not {type(patch).__name__}")
        if isinstance(target, str):
            check_text(target, "target text")
        source_ids, source_tokens = self._encode_source(source)
        config = self.config
        decode_ms = 0.0
        decoded = False
        if patch and config.has_decoder and target is None and max_new_tokens != 0:
            raise InputError("patching needs a fixed target, so that nothing is decoded: give "
                             "target text" + (", or max_new_tokens=0 for a prompt alone"
                                              if config.architecture == "decoder-only" else ""))

        if config.architecture == "encoder-only":
            if target:
                raise InputError("an encoder-only model takes no target text")
            target_ids: list[int] = []
        elif config.architecture == "decoder-only":
            target_ids = list(source_ids)
            source_ids, source_tokens = [], []
            if target:
                target_ids = self._continue_prompt(source, target_ids, target)
            else:
                budget = self._default_budget(len(target_ids)) if max_new_tokens is None else max_new_tokens
                steps = self._decode_steps(len(target_ids), budget)
                lean = self._records_lean(record, 0, len(target_ids) + steps)
                check_run(self, 0, len(target_ids) + steps, record=record and not lean,
                          decode_steps=steps)
                start = time.perf_counter()
                target_ids += self._decode(None, target_ids, steps, ablated)
                decode_ms = (time.perf_counter() - start) * 1000
                decoded = True
        else:
            start_id = config.decoder_start_token_id
            if start_id is None:
                raise InputError("this model defines no decoder start token")
            if target is None:
                budget = self._default_budget(1) if max_new_tokens is None else max_new_tokens
                steps = self._decode_steps(1, budget)
                lean = self._records_lean(record, len(source_ids), 1 + steps)
                check_run(self, len(source_ids), 1 + steps, record=record and not lean,
                          decode_steps=steps)
                start = time.perf_counter()
                target_ids = [start_id] + self._decode(source_ids, [start_id], steps, ablated)
                decode_ms = (time.perf_counter() - start) * 1000
                decoded = True
            else:
                if not isinstance(target, str):
                    raise InputError(f"target must be text or None, not {type(target).__name__}")
                target_ids = [start_id] + self.target_tokenizer.encode(target).ids
        self._check_length(target_ids, "target")
        if not decoded:  # a decoded run was judged by its longest outcome before it began
            lean = self._records_lean(record, len(source_ids), len(target_ids))
            check_run(self, len(source_ids), len(target_ids), record=record and not lean)

        src = torch.tensor([source_ids]) if source_ids else None
        tgt = torch.tensor([target_ids]) if target_ids else None
        start = time.perf_counter()
        # A decode that stopped early (an end token) leaves only the recorded pass: the total
        # shrinks to what is done plus that, so the last report reads "N of N".
        self._watch.total = (self._watch.done if decoded else 0) + run_layers(config, 0)
        watch = watching(self.module, self._watch)
        if lean:  # it watches its own pass, not the replays that learn the shapes
            recorded = lean_forward(self, src, tgt, ablated, patch, watch)
        else:
            recorded = full_forward(self, src, tgt, ablated, patch, record, watch)
        forward_ms = (time.perf_counter() - start) * 1000
        unused = sorted(set(patch) - recorded.applied)
        if unused:
            raise InputError(f"patch {unused[0]!r}: the forward pass never reached this hook point")

        predicted: object = []
        if lean and recorded.logits is not None:
            predicted = self.target_tokenizer.tokens_of(recorded.predicted_ids)
        elif recorded.logits is not None:
            ids, tokens_of = recorded.predicted, self.target_tokenizer.tokens_of
            predicted = Pending(lambda: tokens_of(ids.value()))
        output_ids = target_ids[1:] if config.architecture == "encoder-decoder" else target_ids
        return Trace(
            source_tokens=source_tokens,
            target_tokens=self.target_tokenizer.tokens_of(target_ids),
            predicted_tokens=predicted,
            attention=recorded.attention,
            activations=recorded.activations,
            logits=recorded.logits,
            source_ids=list(source_ids),
            target_ids=list(target_ids),
            output_text=self.target_tokenizer.decode(output_ids) if decoded else "",
            model_name=self.name,
            ablated=ablated,
            forward_ms=forward_ms,
            decode_ms=decode_ms,
            patched=tuple(sorted(patch)),
            token_style=getattr(self.target_tokenizer, "style", "plain"),
            masks=recorded.masks,
        )

    # ---- helpers ----------------------------------------------------------
    def _encode_source(self, source) -> tuple[list[int], list[str]]:
        if not isinstance(source, str):
            raise InputError(f"source must be text, not {type(source).__name__}")
        if not source.strip():
            raise InputError("the source text is empty")
        check_text(source, {"encoder-only": "text", "decoder-only": "prompt"}.get(
            self.config.architecture, "source text"))
        encoding = self.tokenizer.encode(source)
        if not encoding.ids:
            raise InputError(f"the source text {source!r} produced no tokens")
        self._check_length(encoding.ids, "source")
        return list(encoding.ids), list(encoding.tokens)

    def _check_length(self, ids: list[int], what: str) -> None:
        """Learned position tables end: a longer input would index past them."""
        config = self.config
        if config.positions == "learned" and len(ids) > config.max_positions:
            what = {"encoder-only": "text", "decoder-only": "prompt"}.get(config.architecture, what)
            raise InputError(f"the {what} has {len(ids)} tokens; this model accepts at most "
                             f"{config.max_positions} (its learned position table ends there)")

    def _continue_prompt(self, prompt: str, prompt_ids: list[int], continuation: str) -> list[int]:
        """A decoder-only prompt followed by typed continuation text, as one text reads.

        The two are tokenized together (with a space between them, unless one is there), so a
        byte-level tokenizer gives "Ġsleeps" after "The cat", as it would for the whole sentence.
        Where that would re-split the prompt's own tokens, the continuation is tokenized alone.
        """
        if not isinstance(continuation, str):
            raise InputError(f"target must be text or None, not {type(continuation).__name__}")
        space = "" if prompt[-1:].isspace() or continuation[:1].isspace() else " "
        whole = self.target_tokenizer.encode(prompt + space + continuation).ids
        if whole[:len(prompt_ids)] == prompt_ids and len(whole) > len(prompt_ids):
            return whole
        return prompt_ids + self._strip_start(self.target_tokenizer.encode(continuation).ids)

    def _strip_start(self, ids: list[int]) -> list[int]:
        bos = self.config.bos_token_id
        return ids[1:] if ids and bos is not None and ids[0] == bos else ids

    def _default_budget(self, prefix_len: int) -> int:
        """New tokens a run decodes when not told: the folder's own limit for a translator (as
        generate() would), and at most DECODER_ONLY_CONTINUATION after a prompt."""
        stated = self.config.generation.budget(prefix_len)
        if self.config.architecture == "decoder-only":
            return DECODER_ONLY_CONTINUATION if stated is None else min(stated, DECODER_ONLY_CONTINUATION)
        return self.config.max_decode_length if stated is None else stated

    def _decode_steps(self, prefix_len: int, budget) -> int:
        """The most tokens a greedy decode may add: the budget, within a learned position table."""
        if isinstance(budget, bool) or not isinstance(budget, int) or budget < 0:
            raise InputError(f"max_new_tokens must be a non-negative integer, got {budget!r}")
        if self.config.positions == "learned":
            budget = min(budget, self.config.max_positions - prefix_len)
        return max(0, budget)

    def _decode(self, source_ids, prefix: list[int], steps: int,
                ablated: tuple[tuple[str, int, int], ...]) -> list[int]:
        src = torch.tensor([source_ids]) if source_ids is not None else None
        self._watch.total = run_layers(self.config, steps)
        with interventions(self.module, ablate=ablated), watching(self.module, self._watch):
            # the ablated model is the one that decodes
            return greedy_decode(self.module, src, torch.tensor([prefix]), steps)[0]

    def _check_ablation(self, ablate: Iterable) -> tuple[tuple[str, int, int], ...]:
        items = []
        for item in ablate:
            try:
                kind, layer, head = item
            except (TypeError, ValueError):
                raise InputError(f"ablate item {item!r} is not (kind, layer, head)") from None
            if kind not in self.kinds:
                raise InputError(f"ablate item {item!r}: kind must be one of {self.kinds}")
            if not isinstance(layer, int) or not 0 <= layer < self.n_layers(kind):
                raise InputError(f"ablate item {item!r}: layer must be in 0..{self.n_layers(kind) - 1}")
            if not isinstance(head, int) or not 0 <= head < self.config.n_heads:
                raise InputError(f"ablate item {item!r}: head must be in 0..{self.config.n_heads - 1}")
            items.append((kind, layer, head))
        return tuple(sorted(set(items)))


NONFINITE_CHUNK = 2**20  # values checked at once: isfinite's temporaries stay a few MB


@torch.no_grad()
def nonfinite_tensors(module: torch.nn.Module) -> tuple[str, ...]:
    """Names of the parameters that hold a NaN or an infinity, in module order.

    Checked a chunk at a time: on a whole 32,000 × 4,096 embedding, isfinite's temporaries
    (an absolute copy and a mask) would briefly need 0.6 GB beside the model.
    """
    def finite(parameter: torch.Tensor) -> bool:
        flat = parameter.detach().reshape(-1)
        return all(bool(torch.isfinite(flat[i:i + NONFINITE_CHUNK]).all())
                   for i in range(0, flat.numel(), NONFINITE_CHUNK))

    return tuple(name for name, parameter in module.named_parameters() if not finite(parameter))


def create(config: ModelConfig, tokenizer: Tokenizer, name: str = "untrained model",
           seed: int = 0) -> InspectableModel:
    """A freshly initialised model (Xavier-uniform matrices, as in the 2017 paper's code)."""
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        module = Transformer(config)
        for parameter in module.parameters():
            if parameter.dim() > 1:
                torch.nn.init.xavier_uniform_(parameter)
    finally:
        torch.random.set_rng_state(generator_state)
    return InspectableModel(module, tokenizer, name)
