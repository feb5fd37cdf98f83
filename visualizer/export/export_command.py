"""``python main.py export``: any pane's figure (or its numbers) to a file, without a window.

    python main.py export --source "the cat sleeps" --kind cross --layer 0 --head mean --out f.pdf
    python main.py export --view activations --source S --hook encoder.1.resid_post --out a.npz
    python main.py export --view predictions --checkpoint gpt.safetensors --source "the cat" \
        --max-new-tokens 5 --top-k 5 --out next.csv
    python main.py export --checkpoint m.safetensors --source S --target T --kind encoder \\
        --layer 0 --head 3 --out heads.png --width 1600 --dpi 200

It fills the same ViewState the window uses and asks the same pane for its figure or data, so a
file exported here equals the one File → Export writes. Every user error (bad kind, layer or
head, unknown format, missing checkpoint, unwritable path) prints one line naming the problem
and exits with code 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from engine.kinds import KINDS, parse_head

from ..startup_defaults import DEFAULT_CHECKPOINT
from ..state.view_state import COLORMAPS, OPTIONS
from .formats import FORMATS, format_of

USAGE_ERROR = 2
VIEW_ALIASES = {"all_heads": "all-heads", "lines": "head-lines"}  # older flags, kept working

_application = None  # the QGuiApplication this command created, kept alive while it paints


class ExportError(Exception):
    """A problem the user can fix; the message names it."""


def build_parser() -> argparse.ArgumentParser:
    from ..panes import PANES  # no Qt: pane modules import their widgets only when built

    parser = argparse.ArgumentParser(
        prog="main.py export",
        description="Export what one pane of the app shows: its figure (PNG, SVG, PDF) or its "
                    "numbers (NPZ, CSV), headlessly.")
    parser.add_argument("--view", choices=[p.name for p in PANES], default="attention",
                        help="the pane to export (default attention): "
                             + "; ".join(f"{p.name}: {p.tooltip}" for p in PANES))
    parser.add_argument("--checkpoint", type=Path, default=None,
                        help=f"model file or folder (default: the shipped {DEFAULT_CHECKPOINT.name})")
    parser.add_argument("--source", default=None,
                        help="source text (the prompt of a decoder-only model); required, except "
                             "with --view patching, which reads --clean")
    parser.add_argument("--target", default=None, help="target text (default: the model decodes one)")
    parser.add_argument("--kind", choices=tuple(KINDS), default=None,
                        help="attention kind (default: cross if the model has it)")
    parser.add_argument("--layer", type=int, default=0, help="layer, from 0 (default 0)")
    parser.add_argument("--head", type=_head_argument, default=0,
                        help="head number, mean or max (default 0); rollout view: how heads are "
                             "fused, mean (default) or max")
    parser.add_argument("--hook", default="", help="activations view: the hook to show, e.g. "
                        "encoder.1.norm_ffn.input (default: the first layer's resid_post)")
    parser.add_argument("--activation-head", type=_head_argument, default="all",
                        help="activations view, q/k/v/z hooks: one head, or all side by side (default)")
    parser.add_argument("--clip-outliers", action="store_true",
                        help="activations view: colours at the 99th percentile of |value|")
    parser.add_argument("--stack", choices=("encoder", "decoder"), default="",
                        help="depth view: the stack (default: the one of --kind)")
    parser.add_argument("--all-heads", action="store_true",
                        help="the same as --view all-heads, or with --view head-lines every head "
                             "of the layer, one colour each")
    parser.add_argument("--lines", action="store_true", help="the same as --view head-lines")
    parser.add_argument("--top-k", type=_positive_argument, default=OPTIONS["top_k"], metavar="K",
                        help=f"predictions view: tokens listed at each position (default {OPTIONS['top_k']})")
    parser.add_argument("--value-weighted", action="store_true",
                        help="attention view: weight each key by ‖v W_O‖, the length of what the head "
                             "moves from it (Kobayashi et al. 2020), rows renormalised to sum to 1; the "
                             "NPZ adds value_norms [heads, keys] and the raw weights")
    parser.add_argument("--color-by", choices=("top", "target"), default=OPTIONS["lens_color"],
                        help="logit-lens view: colour cells by the top token's probability (default) "
                             "or by the true next token's")
    parser.add_argument("--max-new-tokens", type=_count_argument, default=None, metavar="N",
                        help="tokens a decoder-only model writes after the prompt (default 20; 0: the "
                             "prompt alone); for an encoder-decoder model, the most it decodes")
    parser.add_argument("--clean", default=None, metavar="TEXT",
                        help="patching view: the clean text, whose activations are patched in")
    parser.add_argument("--corrupted", default=None, metavar="TEXT",
                        help="patching view: the corrupted text, of the clean one's token length")
    from .head_stats_command import add_arguments as add_head_stats_arguments

    add_head_stats_arguments(parser)  # --inputs FILE, --evaluate-heads N, --statistic NAME
    parser.add_argument("--source2", default=None, metavar="TEXT",
                        help="compare view: run b's input (default: --source)")
    parser.add_argument("--checkpoint2", type=Path, default=None, metavar="PATH",
                        help="compare view: run b's checkpoint, of the same architecture "
                             "(default: --checkpoint)")
    parser.add_argument("--out", type=Path, required=True,
                        help="|".join("FILE." + f.suffix for f in FORMATS))
    parser.add_argument("--width", type=int, default=None, help="figure width in pixels")
    parser.add_argument("--height", type=int, default=None, help="figure height in pixels")
    parser.add_argument("--dpi", type=float, default=150.0, help="dots per inch (default 150)")
    parser.add_argument("--colormap", choices=COLORMAPS, default="viridis")
    parser.add_argument("--auto-levels", action="store_true",
                        help="colour levels from the data range instead of 0..1")
    parser.add_argument("--rows-by-prediction", action="store_true",
                        help="label decoder rows by the predicted next token")
    parser.add_argument("--ablate", type=_ablation_argument, action="append", default=[],
                        metavar="KIND:LAYER:HEAD",
                        help="zero that head's output before running (repeatable), e.g. cross:0:2")
    return parser


def _ablation_argument(text: str) -> tuple[str, int, int]:
    parts = text.split(":")
    if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not KIND:LAYER:HEAD (e.g. cross:0:2)")
    return parts[0], int(parts[1]), int(parts[2])


def _positive_argument(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return int(text)


def _count_argument(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number (0 or more)")
    return int(text)


def _head_argument(text: str):
    if text == "all":
        return text
    try:
        return parse_head(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the exit code (0, or 2 for a user error)."""
    parser = build_parser()
    try:
        args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    except SystemExit as stop:  # argparse already printed the usage and the problem
        return int(stop.code or 0)
    try:
        written = export(args)
    except ExportError as error:
        print(f"export: error: {error}", file=sys.stderr)
        return USAGE_ERROR
    print(f"wrote {written}")
    return 0


def chosen_view(args: argparse.Namespace) -> str:
    """--view, or the view an older flag (--lines, --all-heads) names."""
    if args.view != "attention":
        return args.view
    if args.lines:
        return VIEW_ALIASES["lines"]
    return VIEW_ALIASES["all_heads"] if args.all_heads else args.view


def export(args: argparse.Namespace) -> Path:
    """Check everything cheap first, then load, run, build the state and write the pane's file."""
    from ..panes import pane_named

    pane = pane_named(chosen_view(args))
    try:
        fmt = format_of(args.out)
    except ValueError as error:
        raise ExportError(str(error)) from None
    make = pane.figure if fmt.output == "figure" else pane.data
    if make is None:
        others = ", ".join("." + f.suffix for f in FORMATS if f.output != fmt.output)
        raise ExportError(f"the {pane.name} view has no {fmt.output} to export; use {others}")
    if pane.name == "rollout" and args.head not in ("mean", "max", 0):
        raise ExportError(f"the rollout view fuses all heads: --head mean or max, not {args.head}")
    if pane.name != "patching" and (args.clean is not None or args.corrupted is not None):
        raise ExportError("--clean and --corrupted are for --view patching")
    if pane.name == "patching" and (args.clean is None or args.corrupted is None):
        raise ExportError("--view patching needs --clean TEXT and --corrupted TEXT")
    args.source = args.clean if args.source is None else args.source
    from .head_stats_command import wants_corpus

    try:
        corpus = wants_corpus(args, pane.name)  # head-stats over --inputs FILE or --evaluate-heads N
    except ValueError as error:
        raise ExportError(str(error)) from None
    if args.source is None and not corpus:
        raise ExportError("--source TEXT is required (or, with --view head-stats, --inputs FILE)")
    if pane.name != "compare" and (args.source2 is not None or args.checkpoint2 is not None):
        raise ExportError("--source2 and --checkpoint2 are for --view compare")
    check_writable(args.out)
    checkpoint = args.checkpoint or DEFAULT_CHECKPOINT
    if not checkpoint.exists():
        hint = "" if args.checkpoint else " (the default model; pass --checkpoint PATH)"
        raise ExportError(f"checkpoint {checkpoint} not found{hint}")

    import engine

    try:
        model = engine.load(checkpoint)
    except engine.CheckpointError as error:
        raise ExportError(f"cannot open checkpoint {checkpoint}: {error}") from None
    kind = args.kind or ("cross" if "cross" in model.kinds else model.kinds[0])
    if kind not in model.kinds:
        raise ExportError(f"kind {kind!r} is not in {model.name}; it has {', '.join(model.kinds)}")
    try:
        if corpus:
            from .head_stats_command import corpus_state

            state = corpus_state(model, args, kind)
        else:
            trace = model.run(args.source, args.target, ablate=args.ablate,
                              max_new_tokens=args.max_new_tokens)
            state = build_state(model, trace, args, kind)
        if pane.name == "compare":
            from .second_run import attach_second_run

            attach_second_run(state, model, args)
        if pane.name in ("head-importance", "patching"):  # the slow part the window runs in the background
            from ..state.sweeps import run_now

            state.set_option(patch_clean=args.clean or "", patch_corrupted=args.corrupted or "")
            run_now(state, pane.name)
        if fmt.output == "figure":
            ensure_gui_application()
        made = make(state)
    except ValueError as error:  # engine.InputError is a ValueError too
        raise ExportError(str(error)) from None
    try:
        if fmt.output == "data":
            from .data_files import export_data

            return export_data(made, args.out)
        from ..figures import export_figure

        return export_figure(made, args.out, args.width, args.height, args.dpi)
    except (OSError, ValueError) as error:
        raise ExportError(str(error)) from None


def build_state(model, trace, args: argparse.Namespace, kind: str):
    """The ViewState the window would hold after the same run and the same choices.

    Raises ValueError naming a layer or head that is out of range, or an unknown hook.
    """
    from ..state.view_state import ViewState

    state = ViewState()
    state.set_model(model)
    state.set_inputs(args.source, args.target or "")
    state.set_trace(trace)
    trace.matrix(kind, args.layer, args.head)  # checks the layer and head, naming the bad one
    if args.hook and args.hook not in trace.activations:
        examples = ", ".join(list(trace.activations)[:4])
        raise ValueError(f"hook {args.hook!r} is not in this trace; it has e.g. {examples}")
    state.set_selection(kind=kind, layer=args.layer, head=args.head, hook=args.hook or None)
    state.set_option(colormap=args.colormap, auto_levels=args.auto_levels,
                     label_rows_by_prediction=args.rows_by_prediction,
                     lines_all_heads=args.all_heads and chosen_view(args) == "head-lines",
                     activation_head=args.activation_head, clip_outliers=args.clip_outliers,
                     depth_stack=args.stack, top_k=args.top_k, max_new_tokens=args.max_new_tokens,
                     attention_weighting="value-norm" if args.value_weighted else "weight",
                     rollout_head=args.head if args.head in ("mean", "max") else "mean",
                     lens_color=args.color_by, head_stat=args.statistic)
    return state


def check_writable(path: Path) -> None:
    """Fail before the slow part if the file cannot be written there."""
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise ExportError(f"cannot write {path}: it is a folder")
    if not folder.is_dir():
        raise ExportError(f"cannot write {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise ExportError(f"cannot write {path}: permission denied")


def ensure_gui_application():
    """Painting text needs a QGuiApplication: reuse the running one, or start an offscreen one.

    Never a second application: inside the GUI (or a test) the existing instance is used.
    """
    global _application
    from PySide6.QtCore import QCoreApplication
    from PySide6.QtGui import QGuiApplication

    existing = QCoreApplication.instance()
    if existing is not None:
        if not isinstance(existing, QGuiApplication):
            raise ExportError("figures need a QGuiApplication, but a console-only Qt application runs")
        return existing
    # Export never shows a window, so it needs no display (works over ssh and in CI).
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    _application = QGuiApplication(["transformer-inspector-export"])
    return _application
