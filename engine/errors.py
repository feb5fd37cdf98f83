"""The two errors the engine raises at its boundary."""


class CheckpointError(Exception):
    """A checkpoint could not be loaded; the message names the file and the problem."""


class InputError(ValueError):
    """An input to ``run`` (text, target, ablation list, length) is not usable."""
