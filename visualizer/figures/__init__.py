"""Paper-ready figures of attention: one head (HeatmapFigure) or all heads (GridFigure),
drawn with QPainter and saved as PNG, SVG or PDF (``export_figure``)."""

from .grid_figure import GridFigure
from .heatmap_figure import HeatmapFigure
from .output import DEFAULT_DPI, FIGURE_FORMATS, export_figure, figure_format, figure_size, render_image

__all__ = ["DEFAULT_DPI", "FIGURE_FORMATS", "GridFigure", "HeatmapFigure", "export_figure", "figure_format",
           "figure_size", "render_image"]
