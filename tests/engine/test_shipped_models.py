"""The shipped demo checkpoints load, stay small, and translate fixed sentences exactly."""

import json
from pathlib import Path

import numpy as np
import pytest

import engine
from engine import evaluate
from engine.tasks import TASKS

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "assets" / "models"
TRANSLATOR = MODELS / "translator.safetensors"
DATES = MODELS / "dates.safetensors"
MAX_BYTES = 10 * 1024 * 1024

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
