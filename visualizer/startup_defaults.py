"""What the app opens on: the default checkpoint, its example sentence and its most telling head."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CHECKPOINT = ROOT / "assets" / "models" / "translator.safetensors"
EXAMPLES_FILE = ROOT / "assets" / "examples.json"
FALLBACK_SENTENCE = "the small cat sees the red house"


def example_sentence(model_path: str = "", model_name: str = "") -> str:
    """The first example of assets/examples.json for this model, or a built-in sentence.

    A list is chosen when its key ("translator", "dates", "induction", "agreement") starts a word
    of the checkpoint's file name or of the model's name; otherwise the translator's.
    """
    try:
        examples = json.loads(EXAMPLES_FILE.read_text(encoding="utf-8"))
        words = " ".join((Path(model_path).stem, model_name)).lower().replace("_", " ").replace("-", " ")
        key = next((k for k in examples if any(w.startswith(k.lower().rstrip("s")) for w in words.split())),
                   "translator")
        sentences = examples.get(key) or []
        return str(sentences[0]) if sentences else FALLBACK_SENTENCE
    except (OSError, ValueError, AttributeError, IndexError, KeyError, TypeError):
        return FALLBACK_SENTENCE


def aligning_head(model) -> dict:
    """{layer, head} of the cross-attention head that training found best aligned, if recorded."""
    evaluation = (getattr(model, "training", None) or {}).get("eval") or {}
    head = evaluation.get("best_alignment_head") if isinstance(evaluation, dict) else None
    if isinstance(head, list) and len(head) == 2 and all(isinstance(v, int) for v in head):
        return {"layer": head[0], "head": head[1]}
    return {}


def working_head(model) -> dict:
    """{kind, layer, head} of the first head the training summary names as doing the work.

    The single-stack demo models list them under ``eval["heads"]``: the induction head of the
    toy LM, the subject head of the agreement model.
    """
    evaluation = (getattr(model, "training", None) or {}).get("eval") or {}
    heads = evaluation.get("heads") if isinstance(evaluation, dict) else None
    first = heads[0] if isinstance(heads, list) and heads and isinstance(heads[0], dict) else {}
    kind, layer, head = first.get("kind"), first.get("layer"), first.get("head")
    if kind in model.kinds and all(isinstance(v, int) and not isinstance(v, bool) for v in (layer, head)):
        return {"kind": kind, "layer": layer, "head": head}
    return {}


def opening_selection(model) -> dict:
    """Where a newly opened model starts: a translator on cross-attention at its aligning head,
    a single-stack demo model at the head its training found doing the work."""
    if "cross" not in model.kinds:
        return working_head(model)
    return {"kind": "cross", **aligning_head(model)}
