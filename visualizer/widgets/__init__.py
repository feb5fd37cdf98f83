"""Widgets around the panes: inputs, the selection bar, ablation, export and help dialogs."""
