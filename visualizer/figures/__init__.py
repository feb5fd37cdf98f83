"""Paper-ready figures of attention: one head (HeatmapFigure), all heads (GridFigure) or
BertViz-style lines (LinesFigure), drawn with QPainter and saved as PNG, SVG or PDF."""

from ..export.formats import FIGURE_FORMATS
from .grid_figure import GridFigure
from .heatmap_figure import HeatmapFigure
from .lines_figure import LinesFigure
from .output import DEFAULT_DPI, export_figure, figure_format, figure_size, render_image

__all__ = ["DEFAULT_DPI", "FIGURE_FORMATS", "GridFigure", "HeatmapFigure", "LinesFigure", "export_figure",
           "figure_format", "figure_size", "render_image"]
