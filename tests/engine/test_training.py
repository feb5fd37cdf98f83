"""Training and evaluation on a tiny config: the loss falls, runs repeat exactly, the CLI reports JSON."""

import json

import pytest
import torch

import engine
from engine import evaluate, train
from engine.tasks import dates

TINY = train.TrainSettings(d_model=32, n_heads=2, n_encoder_layers=1, n_decoder_layers=1, d_ff=64,
                           steps=40, batch_size=16, learning_rate=3e-3, warmup=5, train_pairs=400,
                           eval_pairs=20)


@pytest.fixture(autouse=True)
def one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def held_out_loss(model, pairs) -> float:
    source, target = evaluate.batch_tensors(model, pairs)
    with torch.inference_mode():
        logits = model.module.eval()(source, target[:, :-1])
    return float(torch.nn.functional.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), target[:, 1:].reshape(-1), ignore_index=0))


def test_a_few_steps_lower_the_held_out_loss():
    model = train.build_model("dates", TINY, seed=0)
    held_out = dates.generate(64, seed=0, split="eval")
    before = held_out_loss(model, held_out)
    losses = train.train(model, dates.generate(TINY.train_pairs, 0), TINY, seed=0, progress=False)
    after = held_out_loss(model, held_out)
    assert len(losses) == TINY.steps
    assert after < before - 1.0, (before, after)
    assert sum(losses[-5:]) < sum(losses[:5])


def test_training_is_reproducible_for_a_seed():
    runs = []
    for _ in range(2):
        model = train.build_model("dates", TINY, seed=1)
        settings = train.TrainSettings(**{**TINY.__dict__, "steps": 5})
        runs.append(train.train(model, dates.generate(100, 1), settings, seed=1, progress=False))
    assert runs[0] == runs[1]


def test_single_stack_training_is_reproducible_for_a_seed():
    from engine.tasks import induction

    settings = train.TrainSettings(d_model=16, n_heads=2, n_decoder_layers=2, d_ff=32, steps=5,
                                   batch_size=8, warmup=2)
    runs = []
    for _ in range(2):
        model = train.build_single_stack_model("induction", settings, seed=1)
        runs.append(train.train_single_stack(model, "induction", induction.generate(100, 1), settings,
                                             seed=1, progress=False))
    assert runs[0] == runs[1]


def test_learning_rate_warms_up_then_decays():
    settings = train.TrainSettings(steps=1000, warmup=100, learning_rate=1e-3)
    rates = [train.learning_rate_at(s, settings) for s in (0, 50, 99, 500, 999)]
    assert rates[0] < rates[1] < rates[2] == pytest.approx(1e-3)
    assert rates[2] > rates[3] > rates[4] >= 1e-4 - 1e-12


def test_cli_saves_a_checkpoint_with_summary_and_evaluate_prints_json_last(tmp_path, capsys):
    out = tmp_path / "dates.safetensors"
    args = ["--task", "dates", "--out", str(out), "--d-model", "32", "--n-heads", "2",
            "--n-encoder-layers", "1", "--n-decoder-layers", "1", "--d-ff", "64", "--steps", "3",
            "--batch-size", "8", "--train-pairs", "50", "--eval-pairs", "10"]
    assert train.main(args) == 0
    model = engine.load(out)
    summary = model.training
    assert summary["task"] == "dates" and summary["steps"] == 3 and summary["train_pairs"] == 50
    assert summary["eval"]["n"] == 10 and 0.0 <= summary["eval"]["exact_match"] <= 1.0
    assert "final_loss" in summary and summary["settings"]["d_model"] == 32
    assert summary["threads"] == 1  # the seq2seq default, unchanged

    capsys.readouterr()
    assert evaluate.main([str(out), "--n", "12", "--seed", "3", "--show", "1"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    result = json.loads(last)
    assert result["n"] == 12 and result["task"] == "dates"
    for key in ("exact_match", "token_accuracy", "alignment_accuracy", "mean_alignment_accuracy"):
        assert 0.0 <= result[key] <= 1.0
    layer, head = result["best_alignment_head"]
    assert layer == 0 and 0 <= head < 2


def test_alignment_score_finds_a_head_that_attends_to_the_gold_word():
    """A model whose cross-attention is forced onto the gold source word scores 1.0 for that head."""
    model = train.build_model("dates", TINY, seed=2)
    pairs = dates.generate(8, seed=2, split="eval")
    attention = model.module.decoder.layers[0].cross_attn

    def gold_pattern(_module, _args, pattern):
        # Head 1 looks only at the first gold source word of each target word (any length).
        gold = torch.zeros_like(pattern)
        for row, pair in enumerate(pairs):
            for j, sources in enumerate(pair.alignment[:pattern.shape[2]]):
                gold[row, 1, j, sources[0] if sources else 0] = 1.0
        return gold

    handle = attention.pattern.register_forward_hook(gold_pattern)
    try:
        result = evaluate.score(model, pairs, batch_size=len(pairs))
    finally:
        handle.remove()
    assert result["best_alignment_head"] == [0, 1]
    assert result["alignment_accuracy"] == pytest.approx(1.0)


@pytest.mark.parametrize("task, stack, score, statistic", [
    ("induction", "decoder", "repeat_accuracy", "induction"),
    ("agreement", "encoder", "exact_match", "subject_share"),
])
def test_cli_trains_a_single_stack_model_and_names_the_heads_that_work(tmp_path, task, stack, score,
                                                                       statistic):
    out = tmp_path / f"{task}.safetensors"
    args = ["--task", task, "--out", str(out), "--d-model", "16", "--n-heads", "2",
            f"--n-{stack}-layers", "2", "--d-ff", "32", "--steps", "3", "--batch-size", "8",
            "--train-pairs", "50", "--eval-pairs", "10", "--threads", "1"]
    assert train.main(args) == 0
    model = engine.load(out)
    assert model.kinds == (stack,) and model.n_layers(stack) == 2
    summary = model.training
    assert summary["task"] == task and summary["steps"] == 3 and summary["train_examples"] == 50
    assert summary["threads"] == 1 and summary["train_seconds"] >= 0
    evaluation = summary["eval"]
    assert evaluation["n"] == 10 and 0.0 <= evaluation[score] <= 1.0
    named = evaluation["heads"][0]
    assert (named["kind"], named["statistic"]) == (stack, statistic)
    per_head = evaluation[f"{statistic}_per_head"]
    # The named head is the one whose statistic is highest.
    assert named["score"] == pytest.approx(max(max(row) for row in per_head), abs=1e-4)
    assert per_head[named["layer"]][named["head"]] == pytest.approx(named["score"], abs=1e-4)
    assert 0.0 <= evaluation["zeroed"]["value"] <= 1.0
