"""A folder's generation settings steer the greedy decode exactly as transformers' generate().

Each case writes a generation_config.json into a copy of a tiny random Marian, BART or GPT-2
folder (tests/engine/hf_fixtures*.py), with ids chosen from the model's own unsteered decode so
that every rule bites: an extra end token it reaches, a bigram it would write, the token it
would start with. Both sides then decode several inputs; the ids must be equal.
"""

import json
import re
import shutil

import pytest
import torch

import engine
from tests.engine.hf_fixtures import (
    SENTENCES,
    SOURCE,
    hf_folder,
    load_reference,
    one_torch_thread,  # noqa: F401 (an autouse fixture)
)
from tests.engine.hf_fixtures_gpt2 import gpt2_folder, load_gpt2_reference

pytest.importorskip("transformers")

INPUTS = [SOURCE, SENTENCES[1], SENTENCES[4]]
BUDGET = 9
FAMILIES = ("marian", "bart", "gpt2")


@pytest.fixture(scope="module", params=FAMILIES)
def family(request, tmp_path_factory):
    """(name, folder copy, transformers' model and tokenizer, the unsteered decode of INPUTS[0])."""
    name = request.param
    built = gpt2_folder("gpt2", tmp_path_factory) if name == "gpt2" else hf_folder(name, tmp_path_factory)
    folder = shutil.copytree(built, tmp_path_factory.mktemp(f"generation-{name}") / name)
    plain = json.loads((folder / "generation_config.json").read_text())
    plain.pop("forced_eos_token_id", None)
    if name == "marian":  # as every opus-mt folder: else this random model writes <pad> on end
        plain["bad_words_ids"] = [[plain["pad_token_id"]]]
    write(folder, plain)
    reference, tokenizer = (load_gpt2_reference if name == "gpt2" else load_reference)(folder)
    model = engine.load(folder)
    start = prompt_length(model, INPUTS[0])
    new = model.run(INPUTS[0], max_new_tokens=BUDGET, record=False).target_ids[start:]
    return name, folder, reference, tokenizer, plain, new


def write(folder, settings: dict) -> None:
    (folder / "generation_config.json").write_text(json.dumps(settings), encoding="utf-8")


def prompt_length(model, text: str) -> int:
    return len(model.tokenizer.encode(text).ids) if model.config.architecture == "decoder-only" else 1


def reference_decode(family, text: str, **budget) -> list[int]:
    from transformers import GenerationConfig

    _, folder, reference, tokenizer, _, _ = family
    settings = GenerationConfig.from_pretrained(folder)  # what from_pretrained would read
    ids = torch.tensor([tokenizer(text)["input_ids"]])
    with torch.no_grad():
        out = reference.generate(ids, generation_config=settings, num_beams=1, do_sample=False,
                                 **budget)[0].tolist()
    return out


def steered(family, **changes):
    """The model loaded with ``changes`` on top of the folder's plain settings."""
    _, folder, _, _, plain, _ = family
    write(folder, {**plain, **changes})
    return engine.load(folder)


def decodes_like_generate(family, model, *, budget: int | None = BUDGET) -> list[list[int]]:
    """Our ids of every input, each asserted equal to generate()'s; returns the new tokens."""
    news = []
    for text in INPUTS:
        kwargs = {} if budget is None else {"max_new_tokens": budget}
        ours = model.run(text, record=False, **kwargs).target_ids
        assert ours == reference_decode(family, text, **kwargs), text
        news.append(ours[prompt_length(model, text):])
    return news


def test_decoding_stops_at_any_of_the_listed_end_tokens(family):
    *_, plain, new = family
    stop = new[1]  # a token it writes early (these random models soon repeat one)
    model = steered(family, eos_token_id=[plain["eos_token_id"], stop])
    assert model.config.generation.stop_ids(model.config.eos_token_id) == [plain["eos_token_id"], stop]
    first = decodes_like_generate(family, model)[0]
    assert first == new[:new.index(stop) + 1]  # it ended at the second end token


def test_the_end_token_is_forced_at_the_length_limit(family):
    *_, plain, new = family
    forced = next(t for t in range(5, 50) if t not in new)
    model = steered(family, forced_eos_token_id=forced)
    for ours in decodes_like_generate(family, model):
        assert ours[-1] == forced and len(ours) <= BUDGET
    assert decodes_like_generate(family, model, budget=3)[0] == new[:2] + [forced]


def test_a_forced_first_token_and_banned_words_steer_like_generate(family):
    name, *_, plain, new = family
    first = next(t for t in range(5, 50) if t not in new)
    words = plain.get("bad_words_ids", [])
    model = steered(family, forced_bos_token_id=first, bad_words_ids=words + [[new[1], new[2]], [new[3]]])
    decoded = decodes_like_generate(family, model)
    if name != "gpt2":  # forced only right after the start token: a prompt is longer than that
        assert all(ours[0] == first for ours in decoded)
    for ours in decoded:
        assert new[3] not in ours[1:]
        assert all(pair != (new[1], new[2]) for pair in zip(ours, ours[1:], strict=False))
    model = steered(family, bad_words_ids=words + [[new[0], new[1]]])  # a ban that bites at step 2
    assert decodes_like_generate(family, model)[0][:2] != new[:2]


def test_suppressed_first_tokens_and_a_minimum_length_steer_like_generate(family):
    *_, plain, new = family
    model = steered(family, begin_suppress_tokens=[new[0]], eos_token_id=[plain["eos_token_id"], new[1]],
                    min_new_tokens=4)
    decoded = decodes_like_generate(family, model)
    assert decoded[0][0] != new[0]
    assert all(len(ours) >= 4 for ours in decoded)


def test_the_folder_length_limit_is_the_default_budget_like_generate(family):
    name, _, _, tokenizer, plain, new = family
    longest = max(len(tokenizer(text)["input_ids"]) for text in INPUTS) if name == "gpt2" else 1
    model = steered(family, max_length=longest + 6, forced_eos_token_id=plain["eos_token_id"])
    decoded = decodes_like_generate(family, model, budget=None)
    assert [len(ours) for ours in decoded][0] == longest + 6 - prompt_length(model, INPUTS[0])
    assert decoded[0][-1] == plain["eos_token_id"]


def test_settings_in_config_json_count_without_a_generation_file(family, tmp_path):
    name, folder, _, _, plain, new = family
    if name == "gpt2":
        pytest.skip("GPT2Config keeps no generation fields in config.json")
    copy = shutil.copytree(folder, tmp_path / name)
    (copy / "generation_config.json").unlink()
    config = json.loads((copy / "config.json").read_text())
    # as opus-mt config.json files have them
    config |= {"forced_eos_token_id": plain["eos_token_id"], "bad_words_ids": plain.get("bad_words_ids")}
    (copy / "config.json").write_text(json.dumps(config))
    model = engine.load(copy)
    assert model.config.generation.forced_eos_token_ids == [plain["eos_token_id"]]
    reference, tokenizer = load_reference(copy)  # transformers' own fallback to config.json
    for text in INPUTS:
        ours = model.run(text, max_new_tokens=4, record=False).target_ids
        with torch.no_grad():
            expected = reference.generate(torch.tensor([tokenizer(text)["input_ids"]]), num_beams=1,
                                          do_sample=False, max_new_tokens=4)[0].tolist()
        assert ours == expected
        assert ours[-1] == plain["eos_token_id"]
    assert ours[:3] == [ours[0]] + new[:2]


def test_a_converted_model_keeps_its_generation_settings(family, tmp_path):
    *_, plain, new = family
    model = steered(family, eos_token_id=[plain["eos_token_id"], new[3]], forced_eos_token_id=new[0],
                    bad_words_ids=plain.get("bad_words_ids", []) + [[new[0], new[1]]], max_length=12)
    path = tmp_path / "converted.safetensors"
    model.save(path)
    again = engine.load(path)
    assert again.config.generation == model.config.generation
    assert again.config.to_json() == model.config.to_json()
    for text in INPUTS:
        assert again.run(text, record=False).target_ids == model.run(text, record=False).target_ids


def test_the_facts_say_the_decode_is_greedy_and_what_it_ignores(family):
    name, *_ = family
    model = steered(family, num_beams=4, do_sample=True, top_p=0.9, repetition_penalty=1.2,
                    no_repeat_ngram_size=0, forced_eos_token_id=0)
    assert model.config.extra["generation_ignored"] == {
        "num_beams": 4, "do_sample": True, "top_p": 0.9, "repetition_penalty": 1.2}
    assert model.config.generation.forced_eos_token_ids == [0]  # followed, so not listed
    from visualizer.widgets.input_panel import model_facts

    end = model.target_tokenizer.tokens_of([0])[0]
    assert dict(model_facts(model))["Decoding"].startswith("greedy; stops at ")
    assert f"ends with {end} at the length limit" in dict(model_facts(model))["Decoding"]
    assert dict(model_facts(model))["Decoding"].endswith(
        "ignores do_sample=True, num_beams=4, repetition_penalty=1.2, top_p=0.9")


def test_a_malformed_generation_file_is_named_with_the_way_out(family, tmp_path):
    name, folder, *_ = family
    copy = shutil.copytree(folder, tmp_path / name)
    (copy / "generation_config.json").write_text('{"eos_token_id": [0,')
    with pytest.raises(engine.CheckpointError, match=rf"{name}/generation_config.json: not valid "
                       r"JSON .*; fix or delete the file \(without it, the generation settings "
                       r"come from config.json"):
        engine.load(copy)
    write(copy, {"eos_token_id": 0, "bad_words_ids": [3, 4]})
    with pytest.raises(engine.CheckpointError, match=r"bad_words_ids=\[3, 4\] must be a list of lists"):
        engine.load(copy)
    write(copy, {"eos_token_id": [0, 10**6]})
    with pytest.raises(engine.CheckpointError, match="token 1000000, which is not a token id"):
        engine.load(copy)


@pytest.mark.parametrize(("generation", "message"), [
    ({"eos_token_ids": [3, "x"]}, "GenerationSettings.eos_token_ids must be a list of integers"),
    ({"bad_words_ids": [[5]]}, "bad_words_ids must be a list of lists of two or more integers"),
    ({"forced_eos_token_ids": [40]}, "name token 40, which is not a token id: the vocabulary has ids 0..29"),
    ({"max_length": 0}, "GenerationSettings.max_length must be a whole number in 1..16777216, got 0"),
    ({"top_p": 0.9}, "unknown generation settings: top_p"),
    ([1, 2], "ModelConfig.generation must be an object of generation settings, got [1, 2]"),
])
def test_generation_settings_in_a_native_config_are_checked_by_name(generation, message):
    data = engine.ModelConfig(vocab_size=30, d_model=8, n_heads=2).to_dict() | {"generation": generation}
    with pytest.raises(ValueError, match=re.escape(message)):
        engine.ModelConfig.from_dict(data)
