"""A Hugging Face folder's generation settings, read as transformers' generate() reads them.

transformers takes ``generation_config.json`` when the folder has one and ``config.json``
otherwise (older uploads keep ``forced_eos_token_id``, ``bad_words_ids`` or ``max_length``
there). One departure: a generation_config.json without ``eos_token_id`` leaves transformers with
no end token at all; the engine then stops at config.json's. The decoder start token is
config.json's, else generation_config.json's. A damaged generation_config.json
is refused by name: transformers would quietly fall back to config.json, and a user would
never learn why the decode ignores the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .. import safe_json
from ..errors import CheckpointError
from ..generation import GenerationSettings

FILE = "generation_config.json"
GENERATE_MAX_LENGTH = 20  # transformers' default length limit, start token included
# Settings that would change a greedy decode which the engine does not follow, with the value
# at which they change nothing.
UNFOLLOWED = {"repetition_penalty": 1.0, "encoder_repetition_penalty": 1.0,
              "no_repeat_ngram_size": 0, "encoder_no_repeat_ngram_size": 0,
              "sequence_bias": None, "exponential_decay_length_penalty": None,
              "guidance_scale": None, "penalty_alpha": None}
# Searches other than greedy: the engine's decode is greedy whatever these say.
NOT_GREEDY = {"do_sample": False, "num_beams": 1, "num_beam_groups": 1}
SAMPLING = ("temperature", "top_k", "top_p", "min_p", "typical_p")  # matter only when sampling


@dataclass
class FolderGeneration:
    """What an importer needs: the settings, the ids never generated, and the end token."""

    settings: GenerationSettings
    banned: list[int]  # single-token bad_words_ids and suppress_tokens
    eos: object  # the first end token (anything else is refused by ModelConfig by name)
    decoder_start: object
    ignored: dict = field(default_factory=dict)


def read_generation(folder: Path, config: dict, eos_default=None) -> FolderGeneration:
    source = _source(folder, config)
    eos = source.get("eos_token_id")
    if eos is None:
        eos = config.get("eos_token_id", eos_default)
    eos_list = eos if isinstance(eos, list) else [eos] if eos is not None else []
    first = eos_list[0] if eos_list else None
    banned, words = _bad_words(folder, source.get("bad_words_ids"), eos_list)
    banned |= set(_id_list(folder, source, "suppress_tokens"))
    forced_eos = source.get("forced_eos_token_id")
    settings = GenerationSettings(
        eos_token_ids=eos_list if len(eos_list) > 1 else None,
        forced_bos_token_id=source.get("forced_bos_token_id"),
        forced_eos_token_ids=(forced_eos if isinstance(forced_eos, list)
                              else [] if forced_eos is None else [forced_eos]),
        bad_words_ids=words,
        begin_suppress_tokens=_id_list(folder, source, "begin_suppress_tokens"),
        min_length=source.get("min_length") or 0,
        min_new_tokens=source.get("min_new_tokens") or 0,
        max_length=source.get("max_length"),
        max_new_tokens=source.get("max_new_tokens"),
    )
    try:
        settings.validate(2**62)  # types here; the ids are checked against the vocabulary later
    except ValueError as error:
        raise CheckpointError(f"{folder.name}: {_where(folder)}: {error}") from None
    start = config.get("decoder_start_token_id")  # the model's own; the two files agree in practice
    return FolderGeneration(settings, sorted(banned), first,
                            start if start is not None else source.get("decoder_start_token_id"),
                            ignored_settings(source))


def ignored_settings(source: dict) -> dict:
    """The settings of ``source`` that would change generate()'s output and that the engine
    does not follow: penalties, and any search other than greedy (with its sampling knobs)."""
    ignored = {name: source[name] for name, neutral in UNFOLLOWED.items()
               if source.get(name, neutral) not in (neutral, None)}
    ignored |= {name: source[name] for name, neutral in NOT_GREEDY.items()
                if source.get(name, neutral) not in (neutral, None)}
    if source.get("do_sample"):
        ignored |= {name: source[name] for name in SAMPLING if source.get(name) is not None}
    return ignored


def _source(folder: Path, config: dict) -> dict:
    path = folder / FILE
    if not path.exists():
        return config
    try:
        return safe_json.read_json_object(path)
    except CheckpointError as error:
        raise CheckpointError(f"{error}; fix or delete the file (without it, the generation "
                              "settings come from config.json, as in transformers)") from None


def _where(folder: Path) -> str:
    return FILE if (folder / FILE).exists() else "config.json"


def _bad_words(folder: Path, value, eos: list) -> tuple[set[int], list[list[int]]]:
    """(single ids, longer sequences); as in transformers, an end token alone is never banned."""
    if value is None:
        return set(), []
    if not isinstance(value, list) or not all(isinstance(ids, list) and ids for ids in value):
        raise CheckpointError(f"{folder.name}: {_where(folder)}: bad_words_ids="
                              f"{_short(value)} must be a list of lists of token ids")
    wrong = [i for ids in value for i in ids if not isinstance(i, int) or isinstance(i, bool)]
    if wrong:
        raise CheckpointError(f"{folder.name}: bad_words_ids holds {_short(wrong[0])}, "
                              "which is not a token id")
    single = {ids[0] for ids in value if len(ids) == 1 and ids[0] not in eos}
    return single, [ids for ids in value if len(ids) > 1]


def _id_list(folder: Path, source: dict, name: str) -> list[int]:
    value = source.get(name)
    if value is None:
        return []
    if not isinstance(value, list) or any(not isinstance(i, int) or isinstance(i, bool) for i in value):
        raise CheckpointError(f"{folder.name}: {_where(folder)}: {name}={_short(value)} must be a "
                              "list of token ids")
    return list(value)


def _short(value) -> str:
    shown = repr(value)
    return shown if len(shown) <= 40 else shown[:37] + "..."
