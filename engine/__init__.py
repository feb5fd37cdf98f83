"""The built-in Transformer engine: pure PyTorch and numpy, never Qt.

    import engine
    model = engine.load("assets/models/translator.safetensors")
    trace = model.run("the small cat sleeps")
"""

from .checkpoint import FORMAT, load
from .config import ModelConfig
from .errors import CheckpointError, InputError
from .inspectable_model import InspectableModel, create
from .kinds import HEAD_MODES, KINDS, Kind, head_title, kind_title, parse_head
from .threads import fit_threads
from .tokenizer import Encoding, HFTokenizer, Tokenizer, bpe_tokenizer, word_level_tokenizer
from .trace import Trace

__all__ = [
    "FORMAT", "HEAD_MODES", "KINDS", "CheckpointError", "Encoding", "HFTokenizer", "InputError",
    "InspectableModel", "Kind", "ModelConfig", "Tokenizer", "Trace", "bpe_tokenizer", "create",
    "fit_threads", "head_title", "kind_title", "load", "parse_head", "word_level_tokenizer",
]
