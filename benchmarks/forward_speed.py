"""Forward-pass speed with every intermediate recorded, against transformers' eager BERT.

Both models have the same shape (6 layers, 12 heads, d_model 384, d_ff 1536, random weights).
The reference returns attentions and hidden states (output_attentions/hidden_states=True);
ours records every hook of DESIGN.md (q/k/v/z/scores, every norm's internals) and builds the
numpy Trace. The three variants run in the same interleaved rounds at each length (see
benchmarks/rounds.py: timed one after another, the unrecorded pass once came out slower than
the recorded one); it reports their medians and the ratio ours / reference.

    python benchmarks/forward_speed.py [--lengths 128 512 1024] [--repeats 5]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import engine  # noqa: E402
from benchmarks.rounds import interleave  # noqa: E402
from engine.hooks import collect, interventions  # noqa: E402
from engine.model import Transformer  # noqa: E402

LAYERS, HEADS, D_MODEL, D_FF, VOCAB = 6, 12, 384, 1536, 1000


def ours(length: int, record: bool):
    config = engine.ModelConfig(architecture="encoder-only", vocab_size=VOCAB, d_model=D_MODEL,
                                n_heads=HEADS, n_encoder_layers=LAYERS, d_ff=D_FF, dropout=0.0,
                                positions="learned", max_positions=2048, activation="gelu",
                                embed_norm=True, scale_embeddings=False, output_head=False)
    module = Transformer(config).eval()
    ids = torch.randint(4, VOCAB, (1, length))

    def run():
        with interventions(module, record=record) as hooks, torch.inference_mode():
            module(ids)
        if record:
            collect(hooks.values, ("encoder",), {"encoder": LAYERS})

    return run


def reference(length: int):
    from transformers import BertConfig, BertModel

    config = BertConfig(vocab_size=VOCAB, hidden_size=D_MODEL, num_hidden_layers=LAYERS,
                        num_attention_heads=HEADS, intermediate_size=D_FF,
                        max_position_embeddings=2048, attn_implementation="eager")
    model = BertModel(config).eval()
    ids = torch.randint(4, VOCAB, (1, length))

    def run():
        with torch.inference_mode():
            out = model(ids, output_attentions=True, output_hidden_states=True)
            [a.numpy() for a in out.attentions]

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[128, 512, 1024])
    parser.add_argument("--repeats", type=int, default=5, help="interleaved rounds")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; median of {args.repeats} rounds")
    print("| tokens | reference eager (ms) | ours, all hooks (ms) | ratio | ours, record=False (ms) |")
    print("|---:|---:|---:|---:|---:|")
    for length in args.lengths:
        samples = interleave({"reference": reference(length), "recorded": ours(length, True),
                              "record=False": ours(length, False)}, args.repeats)
        ref, full, bare = (samples.median(name) for name in ("reference", "recorded", "record=False"))
        print(f"| {length} | {ref:.0f} | {full:.0f} | {full / ref:.2f} | {bare:.0f} |")


if __name__ == "__main__":
    main()
