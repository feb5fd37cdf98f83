"""``python main.py report``: the multi-page PDF report of one input, without a window.

    python main.py report --source "the small cat sleeps" --out report.pdf
    python main.py report --checkpoint m.safetensors --source S --target T --kind cross --layer 0 \\
        --head 2 --out report.pdf

The same pages as File → Export report… (visualizer.export.report). User errors print one line
and exit with code 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine.kinds import KINDS

from ..startup_defaults import DEFAULT_CHECKPOINT
from .export_command import USAGE_ERROR, ExportError, _ablation_argument, _head_argument, check_writable


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="main.py report",
        description="Write one multi-page PDF of an input: every attention kind's heads, the selected "
                    "head, the logit lens and the head statistics, each page titled.")
    parser.add_argument("--checkpoint", type=Path, default=None,
                        help=f"model file or folder (default: the shipped {DEFAULT_CHECKPOINT.name})")
    parser.add_argument("--source", required=True, help="source text (the prompt of a decoder-only model)")
    parser.add_argument("--target", default=None, help="target text (default: the model decodes one)")
    parser.add_argument("--kind", choices=tuple(KINDS), default=None,
                        help="the selected head's kind (default: where the model opens)")
    parser.add_argument("--layer", type=int, default=None, help="the selected head's layer")
    parser.add_argument("--head", type=_head_argument, default=None, help="head number, mean or max")
    parser.add_argument("--ablate", type=_ablation_argument, action="append", default=[],
                        metavar="KIND:LAYER:HEAD", help="zero that head's output before running (repeatable)")
    parser.add_argument("--out", type=Path, required=True, help="FILE.pdf")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    except SystemExit as stop:
        return int(stop.code or 0)
    try:
        report = write(args)
    except ExportError as error:
        print(f"report: error: {error}", file=sys.stderr)
        return USAGE_ERROR
    print(f"wrote {args.out} ({len(report.pages)} pages)")
    for note in report.notes:
        print(note)
    return 0


def write(args: argparse.Namespace):
    """Check the cheap things, load, run, build the window's state and write the report."""
    if args.out.suffix.lower() != ".pdf":
        raise ExportError(f"{args.out}: a report is a PDF file; use .pdf")
    check_writable(args.out)
    checkpoint = args.checkpoint or DEFAULT_CHECKPOINT
    if not checkpoint.exists():
        raise ExportError(f"checkpoint {checkpoint} not found")

    import engine

    from ..startup_defaults import opening_selection
    from ..state.view_state import ViewState
    from .export_command import ensure_gui_application
    from .report import write_report

    try:
        model = engine.load(checkpoint)
    except engine.CheckpointError as error:
        raise ExportError(f"cannot open checkpoint {checkpoint}: {error}") from None
    selection = opening_selection(model)
    chosen = {"kind": args.kind, "layer": args.layer, "head": args.head}
    selection.update({name: value for name, value in chosen.items() if value is not None})
    if selection.get("kind", model.kinds[0]) not in model.kinds:
        raise ExportError(f"kind {selection['kind']!r} is not in {model.name}; "
                          f"it has {', '.join(model.kinds)}")
    try:
        trace = model.run(args.source, args.target, ablate=args.ablate)
        state = ViewState()
        state.set_model(model)
        state.set_inputs(args.source, args.target or "")
        state.set_trace(trace)
        trace.matrix(selection.get("kind", state.kind), selection.get("layer", 0), selection.get("head", 0))
        state.set_selection(**selection)
        ensure_gui_application()
        return write_report(state, args.out)
    except (OSError, ValueError) as error:
        raise ExportError(str(error)) from None
