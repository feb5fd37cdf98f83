"""Paper-ready figures: one attention head (HeatmapFigure), all heads (GridFigure), BertViz-style
lines (LinesFigure) and each token through the layers (DepthFigure), drawn with QPainter and
saved as PNG, SVG or PDF."""

from importlib import import_module

# Each name from the module that defines it, on first use: the window's first paint needs only
# the colours (figures.colors), and importing every figure before it cost ~20 ms of start-up.
_HOMES = {"FIGURE_FORMATS": "..export.formats", "DepthFigure": ".depth_figure", "GridFigure": ".grid_figure",
          "HeatmapFigure": ".heatmap_figure", "LinesFigure": ".lines_figure", "DEFAULT_DPI": ".output",
          "export_figure": ".output", "figure_format": ".output", "figure_size": ".output",
          "render_image": ".output"}


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = globals()[name] = getattr(import_module(_HOMES[name], __name__), name)
    return value

__all__ = ["DEFAULT_DPI", "FIGURE_FORMATS", "DepthFigure", "GridFigure", "HeatmapFigure", "LinesFigure",
           "export_figure", "figure_format", "figure_size", "render_image"]
