"""Score a demo checkpoint on held-out data: exact match, token accuracy and attention alignment.

    python -m engine.evaluate assets/models/translator.safetensors --n 1000 --seed 0

The last line printed is a JSON object. Alignment uses teacher forcing on the gold target:
target word j counts as aligned when the cross-attention row of the decoder position that
predicts it points (argmax) at one of its gold source words.
"""

from __future__ import annotations

import argparse
import json
import sys

import torch

from .decoding import greedy_decode
from .hooks import interventions
from .tasks import SINGLE_STACK_TASKS, TASKS, Pair


def encode_words(tokenizer, words) -> list[int]:
    """Ids of ``words`` plus the end token, as the tokenizer would give for their text."""
    unk = tokenizer.token_to_id("<unk>")
    ids = [tokenizer.token_to_id(w) for w in words]
    return [unk if i is None else i for i in ids] + [tokenizer.token_to_id("</s>")]


def pad(rows: list[list[int]], value: int = 0) -> torch.Tensor:
    width = max(len(r) for r in rows)
    return torch.tensor([r + [value] * (width - len(r)) for r in rows], dtype=torch.long)


def batch_tensors(model, pairs: list[Pair]) -> tuple[torch.Tensor, torch.Tensor]:
    """Padded source ids and decoder ids (start token, target words, end token)."""
    start = model.config.decoder_start_token_id
    sources = [encode_words(model.tokenizer, p.source) for p in pairs]
    targets = [[start] + encode_words(model.target_tokenizer, p.target) for p in pairs]
    return pad(sources, model.config.pad_token_id), pad(targets, model.config.pad_token_id)


@torch.inference_mode()
def score(model, pairs: list[Pair], batch_size: int = 100) -> dict:
    """Greedy-decoding accuracy and per-head alignment accuracy of ``model`` on ``pairs``."""
    module = model.module.eval()
    config = model.config
    exact = tokens_right = tokens_total = 0
    layers, heads = config.n_decoder_layers, config.n_heads
    hits = torch.zeros(layers, heads)
    mean_hits = torch.zeros(layers)
    aligned_words = 0
    for begin in range(0, len(pairs), batch_size):
        chunk = pairs[begin:begin + batch_size]
        source, target = batch_tensors(model, chunk)
        prefix = target[:, :1]
        outputs = greedy_decode(module, source, prefix, target.shape[1] + 5, config.eos_token_id)
        for row, output in enumerate(outputs):
            gold = [t for t in target[row, 1:].tolist() if t != config.pad_token_id]
            exact += output == gold
            tokens_right += sum(a == b for a, b in zip(output, gold, strict=False))
            tokens_total += len(gold)

        names = [f"decoder.{i}.cross_attn.pattern" for i in range(layers)]
        with interventions(module, record=names) as hooks:
            module(source, target[:, :-1])
        patterns = torch.stack([hooks.values[name] for name in names])
        # patterns: [layers, batch, heads, T, S]
        head_argmax = patterns.argmax(dim=-1)  # [layers, batch, heads, T]
        mean_argmax = patterns.mean(dim=2).argmax(dim=-1)  # [layers, batch, T]
        for row, pair in enumerate(chunk):
            for j, gold_sources in enumerate(pair.alignment):
                if not gold_sources:
                    continue
                aligned_words += 1
                allowed = torch.tensor(gold_sources)
                hits += torch.isin(head_argmax[:, row, :, j], allowed).float()
                mean_hits += torch.isin(mean_argmax[:, row, j], allowed).float()
    head_accuracy = hits / max(aligned_words, 1)
    best = int(head_accuracy.argmax())
    best_layer, best_head = divmod(best, heads)
    mean_accuracy = mean_hits / max(aligned_words, 1)
    return {
        "n": len(pairs),
        "exact_match": exact / len(pairs),
        "token_accuracy": tokens_right / max(tokens_total, 1),
        "alignment_accuracy": float(head_accuracy[best_layer, best_head]),
        "best_alignment_head": [best_layer, best_head],
        "mean_alignment_accuracy": float(mean_accuracy.max()),
        "best_mean_alignment_layer": int(mean_accuracy.argmax()),
        "alignment_accuracy_per_head": [[round(float(v), 4) for v in layer] for layer in head_accuracy],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine.evaluate", description=__doc__.split("\n")[0])
    parser.add_argument("checkpoint")
    parser.add_argument("--n", type=int, default=1000, help="held-out pairs to score")
    parser.add_argument("--seed", type=int, default=0, help="seed of the held-out generator")
    parser.add_argument("--task", choices=sorted(TASKS | SINGLE_STACK_TASKS),
                        help="default: the task the checkpoint names")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--show", type=int, default=5, help="example translations to print")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    from . import load

    model = load(args.checkpoint)
    task_name = args.task or model.training.get("task")
    if task_name in SINGLE_STACK_TASKS:  # the induction LM and the agreement MLM score themselves
        task = SINGLE_STACK_TASKS[task_name]
        scores = task.score(model, task.generate(args.n, args.seed, "eval", unique=True))
        print(json.dumps({"checkpoint": str(args.checkpoint), "task": task_name, "seed": args.seed,
                          **scores}))
        return 0
    if task_name not in TASKS:
        print(f"{args.checkpoint}: the checkpoint names no task; pass --task", file=sys.stderr)
        return 2
    pairs = TASKS[task_name].generate(args.n, args.seed, "eval", unique=True)
    for pair in pairs[:args.show]:
        print(f"{pair.source_text}  =>  {model.translate(pair.source_text)}")
    result = {"checkpoint": str(args.checkpoint), "task": task_name, "seed": args.seed, **score(model, pairs)}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
