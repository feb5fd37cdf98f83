"""Sessions: what the window shows, as a small JSON file, and back. No Qt here.

A session holds the checkpoint path, the inputs, the selection, the pane in front, every view
option of ``OPTIONS`` (the compare pane's second input and checkpoint among them) and the ablated
heads. Nothing in it is executed: it is read with the guarded JSON reader and every field is
checked; a file that is not a session, or of an unknown version, changes nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from engine.kinds import HEAD_MODES, KINDS
from engine.safe_json import loads as safe_loads

from ..export.data_files import write_atomically
from .view_state import COLORMAPS, OPTIONS

FORMAT = "transformer-inspector-session"
VERSION = 1
MAX_BYTES = 1_000_000  # a session is a few hundred bytes; anything larger is not one


class SessionError(ValueError):
    """A file that cannot be opened as a session; the message names the file and the problem."""


@dataclass(frozen=True)
class Session:
    """A session as read, every field checked."""

    checkpoint: str
    source: str = ""
    target: str = ""
    selection: dict = field(default_factory=dict)  # kind, layer, head, hook
    front_pane: str = "attention"
    options: dict = field(default_factory=dict)  # only names in OPTIONS, with valid values
    ablated: tuple[tuple[str, int, int], ...] = ()
    ignored: tuple[str, ...] = ()  # fields skipped as unknown or invalid, for the message


def session_dict(state, checkpoint) -> dict:
    """The state as a session's JSON object."""
    return {
        "format": FORMAT, "version": VERSION,
        "checkpoint": str(Path(checkpoint).resolve()) if checkpoint else "",
        "inputs": {"source": state.source_text, "target": state.target_text},
        "selection": {"kind": state.kind, "layer": state.layer, "head": state.head, "hook": state.hook},
        "front_pane": state.front_pane,
        "options": {name: getattr(state, name) for name in OPTIONS},
        "ablated": [list(head) for head in sorted(state.ablated)],
    }


def save_session(path, state, checkpoint) -> Path:
    """Write the session file (atomically); OSError names the path."""
    text = json.dumps(session_dict(state, checkpoint), ensure_ascii=False, indent=2)
    write_atomically(Path(path), (text + "\n").encode("utf-8"))
    return Path(path)


def read_session(path) -> Session:
    """Read and check a session file. SessionError names the problem (nothing to apply then)."""
    path = Path(path)
    try:
        raw = path.read_bytes()[:MAX_BYTES + 1]
    except OSError as error:
        raise SessionError(f"cannot read {path}: {error.strerror or error}") from None
    if len(raw) > MAX_BYTES:
        raise SessionError(f"{path} is not a session: larger than {MAX_BYTES:,} bytes")
    try:
        data = safe_loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise SessionError(f"{path} is not a session: invalid JSON ({error})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise SessionError(f"{path} is not a session file (no \"format\": \"{FORMAT}\")")
    if data.get("version") != VERSION:
        raise SessionError(f"{path}: unknown session version {data.get('version')!r}; this app "
                           f"reads version {VERSION}")
    return _checked(path, data)


def _checked(path: Path, data: dict) -> Session:
    def text(value, name: str) -> str:
        if not isinstance(value, str):
            raise SessionError(f"{path}: {name} must be text, not {type(value).__name__}")
        return value

    inputs = data.get("inputs", {})
    if not isinstance(inputs, dict):
        raise SessionError(f"{path}: inputs must be an object")
    ignored: list[str] = []
    selection = {}
    given = data.get("selection", {}) if isinstance(data.get("selection"), dict) else {}
    if given.get("kind") in KINDS:
        selection["kind"] = given["kind"]
    if _is_count(given.get("layer")):
        selection["layer"] = given["layer"]
    head = given.get("head")
    if _is_count(head) or head in HEAD_MODES:
        selection["head"] = head
    if isinstance(given.get("hook"), str):
        selection["hook"] = given["hook"]
    ignored += [f"selection.{name}" for name in given if name not in selection]
    options = {}
    for name, value in (data.get("options") or {}).items():
        if name in OPTIONS and _valid_option(name, value):
            options[name] = value
        else:
            ignored.append(f"options.{name}")
    ablated = []
    for item in data.get("ablated") or []:
        if (isinstance(item, list) and len(item) == 3 and item[0] in KINDS and _is_count(item[1])
                and _is_count(item[2])):
            ablated.append((item[0], item[1], item[2]))
        else:
            ignored.append(f"ablated {item!r}")
    pane = data.get("front_pane", "attention")
    return Session(text(data.get("checkpoint", ""), "checkpoint"), text(inputs.get("source", ""), "source"),
                   text(inputs.get("target", ""), "target"), selection,
                   pane if isinstance(pane, str) else "attention", options, tuple(ablated), tuple(ignored))


def _is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _valid_option(name: str, value) -> bool:
    """A value of the default's type (None or a count where the default is None), a known colormap."""
    default = OPTIONS[name]
    if name == "colormap":
        return value in COLORMAPS
    if default is None:
        return value is None or _is_count(value)
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, int):
        return _is_count(value) and value >= 1
    return isinstance(value, type(default))


def apply_session(state, session: Session, pane_names=()) -> list[str]:
    """Put the session's inputs, selection, options, pane and ablation into ``state`` (whose model
    is already the one to use). Returns what did not fit this model, for the message."""
    skipped = list(session.ignored)
    state.set_inputs(session.source, session.target)
    state.set_option(**session.options)
    selection = dict(session.selection)
    if selection.get("kind") not in (None, *state.kinds()):
        skipped.append(f"kind {selection.pop('kind')!r}")
    state.set_selection(**selection)
    if not pane_names or session.front_pane in pane_names:
        state.set_front_pane(session.front_pane)
    heads = set()
    for kind, layer, head in session.ablated:
        if kind in state.kinds() and layer < state.n_layers(kind) and head < state.n_heads():
            heads.add((kind, layer, head))
        else:
            skipped.append(f"ablated head {kind}:{layer}:{head}")
    for kind, layer, head in sorted(heads ^ set(state.ablated)):
        state.toggle_ablation(kind, layer, head)
    return skipped
