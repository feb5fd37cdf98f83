"""``python main.py export``: one attention plot (or its numbers) to a file, without a window.

    python main.py export --source "the cat sleeps" --kind cross --layer 1 --head mean --out f.pdf
    python main.py export --checkpoint m.safetensors --source S --target T --kind encoder \\
        --layer 0 --head 3 --out heads.png --width 1600 --dpi 200

Every user error (bad kind, layer or head, unknown format, missing checkpoint, unwritable path)
prints one line naming the problem and exits with code 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .data_export import DATA_FORMATS, parse_head

DEFAULT_CHECKPOINT = Path(__file__).resolve().parent.parent / "assets" / "models" / "translator.safetensors"
FIGURE_FORMATS = ("png", "svg", "pdf")  # kept here so that --help never imports Qt
COLORMAPS = ("viridis", "magma", "inferno", "plasma", "cividis")
USAGE_ERROR = 2

_application = None  # the QGuiApplication this command created, kept alive while it paints


class ExportError(Exception):
    """A problem the user can fix; the message names it."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="main.py export",
        description="Export one attention plot (PNG, SVG, PDF) or its numbers (NPZ, CSV), headlessly.")
    parser.add_argument("--checkpoint", type=Path, default=None,
                        help=f"model file or folder (default: the shipped {DEFAULT_CHECKPOINT.name})")
    parser.add_argument("--source", required=True, help="source text")
    parser.add_argument("--target", default=None, help="target text (default: the model decodes one)")
    parser.add_argument("--kind", choices=("encoder", "decoder", "cross"), default=None,
                        help="attention kind (default: cross if the model has it)")
    parser.add_argument("--layer", type=int, default=0, help="layer, from 0 (default 0)")
    parser.add_argument("--head", type=_head_argument, default=0, help="head number, mean or max (default 0)")
    parser.add_argument("--all-heads", action="store_true",
                        help="every layer and head of the kind: a grid figure, or an NPZ with all_heads")
    parser.add_argument("--lines", action="store_true",
                        help="draw BertViz-style lines (opacity = weight) instead of a heatmap")
    parser.add_argument("--out", type=Path, required=True, help="FILE.png|.svg|.pdf|.npz|.csv")
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


def _head_argument(text: str):
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


def export(args: argparse.Namespace) -> Path:
    """Check everything cheap first, then load, run, select and write."""
    fmt = output_format(args.out)
    if args.all_heads and fmt == "csv":
        raise ExportError("a CSV file holds one matrix: use .npz (or a figure format) with --all-heads")
    if args.lines and (args.all_heads or fmt not in FIGURE_FORMATS):
        raise ExportError("--lines draws one figure of one head (or mean/max): use .png, .svg or .pdf "
                          "without --all-heads")
    check_writable(args.out)
    checkpoint = args.checkpoint or DEFAULT_CHECKPOINT
    if not checkpoint.exists():
        hint = "" if args.checkpoint else " (the default model; pass --checkpoint PATH)"
        raise ExportError(f"checkpoint {checkpoint} not found{hint}")

    import engine

    from .data_export import export_data, select_from_trace

    try:
        model = engine.load(checkpoint)
    except engine.CheckpointError as error:
        raise ExportError(f"cannot open checkpoint {checkpoint}: {error}") from None
    kind = args.kind or ("cross" if "cross" in model.kinds else model.kinds[0])
    if kind not in model.kinds:
        raise ExportError(f"kind {kind!r} is not in {model.name}; it has {', '.join(model.kinds)}")
    try:
        trace = model.run(args.source, args.target, ablate=args.ablate)
        selection = select_from_trace(
            trace, kind, args.layer, args.head, model=model.name, source=args.source,
            target=args.target if args.target is not None else trace.output_text,
            colormap=args.colormap, rows_by_prediction=args.rows_by_prediction,
            auto_levels=args.auto_levels)
    except ValueError as error:  # engine.InputError is a ValueError too
        raise ExportError(str(error)) from None
    try:
        if fmt in DATA_FORMATS:
            return export_data(selection, args.out, all_heads=args.all_heads)
        return _export_figure(selection, args)
    except (OSError, ValueError) as error:
        raise ExportError(str(error)) from None


def _export_figure(selection, args) -> Path:
    ensure_gui_application()
    from .figures import GridFigure, HeatmapFigure, LinesFigure, export_figure

    if args.all_heads:
        figure = GridFigure(selection)
    else:
        figure = LinesFigure(selection) if args.lines else HeatmapFigure(selection)
    return export_figure(figure, args.out, args.width, args.height, args.dpi)


def output_format(path: Path) -> str:
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FIGURE_FORMATS + DATA_FORMATS:
        raise ExportError(f"{path}: unknown format {path.suffix or '(no extension)'!r}; "
                          "use .png, .svg, .pdf, .npz or .csv")
    return fmt


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
