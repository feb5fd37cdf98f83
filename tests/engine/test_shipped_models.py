"""The shipped demo checkpoints load, stay small, and translate fixed sentences exactly; the
single-stack ones meet their held-out targets and their named heads do their jobs."""

import json
from pathlib import Path

import numpy as np
import pytest

import engine
from engine import evaluate
from engine.head_stats import head_stats
from engine.tasks import SINGLE_STACK_TASKS, TASKS, agreement, induction, split_of

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "assets" / "models"
TRANSLATOR = MODELS / "translator.safetensors"
DATES = MODELS / "dates.safetensors"
INDUCTION = MODELS / "induction.safetensors"
AGREEMENT = MODELS / "agreement.safetensors"
MAX_BYTES = 10 * 1024 * 1024
SINGLE_STACK_MAX_BYTES = 2 * 1024 * 1024
EXAMPLES = json.loads((ROOT / "assets" / "examples.json").read_text(encoding="utf-8"))
# The auxiliary each agreement example hides, by the grammar: subject number, then the next words.
AGREEMENT_ANSWERS = ["are", "has", "does", "are", "is"]

TRANSLATIONS = {
    "the black cat sees the small dog": "le chat noir voit le petit chien",
    "the old man eats a red apple": "le vieil homme mange une pomme rouge",
    "these small girls do not like the old trees": "ces petites filles n'aiment pas les vieux arbres",
    "the student that the dogs follow sleeps": "l'étudiant que les chiens suivent dort",
    "my friend sings with a happy child": "mon ami chante avec un enfant heureux",
}
DATE_OUTPUTS = {
    "Saturday, March 5th 2022": "2022-03-05",
    "5 mar 22": "2022-03-05",
    "03/05/2022": "2022-03-05",
    "the fifth of March, 2022": "2022-03-05",
    "2022 march 5": "2022-03-05",
    "December 31st, 1999": "1999-12-31",
}


def load_or_skip(path: Path):
    if not path.exists():
        pytest.skip(f"{path.relative_to(ROOT)} is not trained yet (python -m engine.train)")
    return engine.load(path)


@pytest.fixture(scope="module")
def translator():
    return load_or_skip(TRANSLATOR)


@pytest.fixture(scope="module")
def date_model():
    return load_or_skip(DATES)


@pytest.mark.parametrize("source", sorted(TRANSLATIONS))
def test_translator_translates_fixed_sentences_exactly(translator, source):
    assert translator.translate(source) == TRANSLATIONS[source]


@pytest.mark.parametrize("source", sorted(DATE_OUTPUTS))
def test_date_model_normalizes_fixed_dates_exactly(date_model, source):
    assert date_model.translate(source) == DATE_OUTPUTS[source]


@pytest.mark.parametrize("path", [TRANSLATOR, DATES], ids=["translator", "dates"])
def test_checkpoints_are_small_and_carry_their_training_summary(path):
    model = load_or_skip(path)
    assert path.stat().st_size <= MAX_BYTES
    summary = model.training
    assert summary["task"] in TASKS and summary["steps"] > 0 and summary["train_pairs"] > 0
    assert summary["eval"]["exact_match"] >= 0.95
    assert model.kinds == ("encoder", "decoder", "cross")


def test_default_example_shows_adjective_reordering_in_cross_attention(translator):
    """The app opens on this sentence: its best head must cross where the adjective moves."""
    examples = json.loads((ROOT / "assets" / "examples.json").read_text(encoding="utf-8"))
    assert examples["translator"][0] == "the black cat sees the small dog"
    trace = translator.run(examples["translator"][0])
    assert trace.output_text == "le chat noir voit le petit chien"
    layer, head = translator.training["eval"]["best_alignment_head"]
    cross = trace.attention["cross"][layer, head]  # rows: decoder positions; columns: source words
    assert np.allclose(cross.sum(axis=-1), 1.0, atol=1e-5)
    # Row j predicts French word j; gold: le->the chat->cat noir->black voit->sees le->the ...
    gold = [0, 2, 1, 3, 4, 5, 6]
    attended = [int(np.argmax(row)) for row in cross[:len(gold)]]
    assert sum(a == g for a, g in zip(attended, gold, strict=True)) >= 6, attended


def test_translator_scores_on_fresh_held_out_sentences(translator):
    pairs = TASKS["translation"].generate(100, seed=12345, split="eval", unique=True)
    result = evaluate.score(translator, pairs)
    assert result["exact_match"] >= 0.95
    assert result["alignment_accuracy"] >= 0.8


def test_date_model_scores_on_fresh_held_out_dates(date_model):
    pairs = TASKS["dates"].generate(200, seed=54321, split="eval", unique=True)
    assert evaluate.score(date_model, pairs)["exact_match"] >= 0.98


@pytest.fixture(scope="module")
def induction_model():
    return load_or_skip(INDUCTION)


@pytest.fixture(scope="module")
def agreement_model():
    return load_or_skip(AGREEMENT)


@pytest.mark.parametrize("path, score, kind", [(INDUCTION, "repeat_accuracy", "decoder"),
                                               (AGREEMENT, "exact_match", "encoder")],
                         ids=["induction", "agreement"])
def test_single_stack_checkpoints_are_small_and_meet_their_held_out_targets(path, score, kind):
    model = load_or_skip(path)
    assert path.stat().st_size <= SINGLE_STACK_MAX_BYTES
    assert model.kinds == (kind,) and model.config.output_head
    summary = model.training
    assert summary["task"] in SINGLE_STACK_TASKS and summary["steps"] > 0 and summary["train_examples"] > 0
    assert summary["eval"]["n"] >= 500 and summary["eval"][score] >= 0.95
    named = summary["eval"]["heads"][0]
    assert named["kind"] == kind and 0 <= named["layer"] < model.n_layers(kind)
    assert 0 <= named["head"] < model.config.n_heads


def test_the_named_induction_head_copies_on_fresh_held_out_repeats(induction_model):
    named = induction_model.training["eval"]["heads"][0]
    assert named["role"] == "induction" and named["score"] >= 0.8
    layer, head = named["layer"], named["head"]
    right = total = 0
    for example in induction.generate(8, seed=2024, split="eval", unique=True):
        trace = induction_model.run(example.source_text, max_new_tokens=0)
        # Every repeated word comes back at the position that predicts it.
        hits = [trace.predicted_tokens[j] == example.source[j] for j in example.predictable]
        right, total = right + sum(hits), total + len(hits)
        assert head_stats(trace, "decoder")["induction"][layer, head] >= 0.8, example.source_text
    assert right / total >= 0.95


def test_the_induction_example_is_held_out_and_its_continuation_repeats_the_span(induction_model):
    prompt = EXAMPLES["induction"][0]
    assert split_of(prompt) == "eval"  # never a training sequence
    trace = induction_model.run(prompt, max_new_tokens=6)
    words = prompt.split()  # "three blue boats wait under bridges three blue boats"
    span = words[:6]
    assert trace.output_text.split()[-6:] == span[3:] + span[:3]  # "wait under bridges three ..."
    named = induction_model.training["eval"]["heads"][0]
    induction_scores = head_stats(trace, "decoder")["induction"]
    assert induction_scores[named["layer"], named["head"]] >= 0.8


def test_the_agreement_examples_and_fresh_held_out_masks_are_filled_right(agreement_model):
    for text, answer in zip(EXAMPLES["agreement"], AGREEMENT_ANSWERS, strict=True):
        trace = agreement_model.run(text)
        position = trace.source_tokens.index(agreement.MASK)
        assert trace.predicted_tokens[position] == answer, text
    held_out = agreement.generate(20, seed=4242, split="eval", unique=True)
    assert agreement.exact_match(agreement_model, held_out) >= 0.95


def test_the_named_subject_head_looks_from_the_mask_to_the_subject(agreement_model):
    named = agreement_model.training["eval"]["heads"][0]
    assert named["role"] == "subject" and named["score"] >= 0.9
    layer, head = named["layer"], named["head"]
    held_out = agreement.generate(20, seed=4242, split="eval", unique=True)
    on_subject = 0
    for example in held_out:
        trace = agreement_model.run(example.source_text)
        row = trace.attention["encoder"][layer, head, example.mask_index + 1]  # <s> comes first
        assert row.sum() == pytest.approx(1.0, abs=1e-5)
        on_subject += int(row.argmax()) == example.subject_index + 1
    assert on_subject >= 18
    # The first example: "the dogs with the small cat [MASK] happy" looks at "dogs", not "cat".
    trace = agreement_model.run(EXAMPLES["agreement"][0])
    row = trace.attention["encoder"][layer, head, trace.source_tokens.index(agreement.MASK)]
    assert trace.source_tokens[int(row.argmax())] == "dogs"


@pytest.mark.parametrize("name, score", [("induction", "repeat_accuracy"), ("agreement", "exact_match")])
def test_evaluate_scores_a_single_stack_demo_model_from_its_own_task(name, score, capsys):
    assert evaluate.main([str(MODELS / f"{name}.safetensors"), "--n", "60", "--seed", "5"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["task"] == name and result["n"] == 60
    assert result[score] >= 0.95
