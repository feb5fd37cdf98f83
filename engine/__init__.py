"""The built-in Transformer engine: pure PyTorch and numpy, never Qt.

    import engine
    model = engine.load("assets/models/translator.safetensors")
    trace = model.run("the small cat sleeps")

Names load on first use: ``engine.kinds`` and ``engine.Trace`` need no torch, so the window can
read the kind table and paint before torch (about 2 s) is imported.
"""

from importlib import import_module

_HOMES = {  # public name -> the module that defines it
    "FORMAT": "checkpoint", "load": "checkpoint",
    "ModelConfig": "config",
    "CheckpointError": "errors", "InputError": "errors",
    "InspectableModel": "inspectable_model", "create": "inspectable_model",
    "HEAD_MODES": "kinds", "KINDS": "kinds", "Kind": "kinds", "head_title": "kinds",
    "kind_title": "kinds", "parse_head": "kinds",
    "Cancelled": "sweeps",
    "fit_threads": "threads", "run_threads": "threads",
    "Encoding": "tokenizer", "HFTokenizer": "tokenizer", "Tokenizer": "tokenizer",
    "bpe_tokenizer": "tokenizer", "word_level_tokenizer": "tokenizer",
    "Trace": "trace",
}
__all__ = sorted(_HOMES)


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module 'engine' has no attribute {name!r}")
    value = getattr(import_module(f".{_HOMES[name]}", __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__():
    return __all__
