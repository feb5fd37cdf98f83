"""The widgets inside panes: heatmaps, the head grid, head lines, activations and depth plots."""
