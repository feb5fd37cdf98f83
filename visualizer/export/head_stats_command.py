"""``--view head-stats`` over many inputs: ``--inputs FILE`` and ``--evaluate-heads N``.

    python main.py export --view head-stats --inputs corpus.txt --kind cross --out stats.npz
    python main.py export --view head-stats --evaluate-heads 500 --out alignment.npz

Both fill the state with ``engine`` corpus statistics (the mean over the inputs) instead of one
run's trace, as the pane's "Statistics over a corpus…" and "Evaluate heads" buttons do, so the
file equals the one the window writes. Skipped lines are listed on stderr; the run goes on.
"""

from __future__ import annotations

import argparse
import sys

from engine.head_stats import STATISTICS

from ..state.head_stat_table import ALIGNMENT


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--inputs", default=None, metavar="FILE",
                        help="head-stats view: each statistic as a mean over the inputs of FILE (one "
                             "a line; source TAB target; blank lines skipped)")
    parser.add_argument("--evaluate-heads", type=_sentences, default=None, metavar="N",
                        help="head-stats view, demo translator: every head's alignment accuracy "
                             "against the generator's gold alignment on N generated sentences")
    parser.add_argument("--statistic", choices=(*STATISTICS, ALIGNMENT), default="entropy",
                        help="head-stats view: the statistic a figure is coloured by (default entropy)")


def _sentences(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return int(text)


def wants_corpus(args: argparse.Namespace, view: str) -> bool:
    """True when the command asks for statistics over many inputs; ValueError when it asks wrongly."""
    asked = [flag for flag, value in (("--inputs", args.inputs), ("--evaluate-heads", args.evaluate_heads))
             if value is not None]
    if asked and view != "head-stats":
        raise ValueError(f"{' and '.join(asked)} {'are' if len(asked) > 1 else 'is'} for --view head-stats")
    if len(asked) > 1:
        raise ValueError("give --inputs FILE or --evaluate-heads N, not both")
    return bool(asked)


def corpus_state(model, args: argparse.Namespace, kind: str):
    """The ViewState the window holds after the corpus run; ValueError (InputError) when no
    input can be run, the file cannot be read, or the model has no alignment task."""
    from engine.corpus_file import read_corpus
    from engine.corpus_stats import corpus_head_stats
    from engine.head_alignment import evaluate_heads

    from ..state.view_state import ViewState

    report = _progress_printer()
    if args.inputs is not None:
        result = corpus_head_stats(model, read_corpus(args.inputs), kind, progress=report,
                                   ablate=args.ablate, name=str(args.inputs).rsplit("/", 1)[-1])
    else:
        result = evaluate_heads(model, args.evaluate_heads, kind=kind, progress=report)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    for problem in result.problems:
        print(f"export: skipped {problem}", file=sys.stderr)
    state = ViewState()
    state.set_model(model)
    state.set_selection(kind=kind)
    state.set_option(colormap=args.colormap, head_stat=args.statistic)
    state.set_head_stats_corpus(result)
    return state


def _progress_printer():
    """"head-stats: 120 of 1,000" on one terminal line, or nothing when stderr is not a terminal."""
    if not sys.stderr.isatty():
        return None

    def report(done: int, total: int) -> None:
        print(f"\rhead-stats: {done:,} of {total:,}", end="", file=sys.stderr, flush=True)

    return report
