"""Paper-ready figures: one attention head (HeatmapFigure), all heads (GridFigure), BertViz-style
lines (LinesFigure) and each token through the layers (DepthFigure), drawn with QPainter and
saved as PNG, SVG or PDF."""

from ..export.formats import FIGURE_FORMATS
from .depth_figure import DepthFigure
from .grid_figure import GridFigure
from .heatmap_figure import HeatmapFigure
from .lines_figure import LinesFigure
from .output import DEFAULT_DPI, export_figure, figure_format, figure_size, render_image

__all__ = ["DEFAULT_DPI", "FIGURE_FORMATS", "DepthFigure", "GridFigure", "HeatmapFigure", "LinesFigure",
           "export_figure", "figure_format", "figure_size", "render_image"]
