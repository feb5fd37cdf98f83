"""Exports: the format table, data files, the File menu actions and the headless command."""
