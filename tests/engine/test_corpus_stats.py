"""Head statistics over a corpus: a mean of per-input statistics, batched, with bad lines named."""

from pathlib import Path

import numpy as np
import pytest

import engine
from engine.corpus_file import CorpusLine, parse_lines, read_corpus
from engine.corpus_stats import CorpusCancelled, corpus_head_stats
from engine.head_alignment import best_head, evaluate_heads, training_summary_head
from engine.head_stats import STATISTICS, head_stats
from engine.tasks import induction, translation
from tests.conftest import make_tiny_model

MODELS = Path(__file__).resolve().parents[2] / "assets" / "models"
PAIRS = [("the cat sees the cat", "le chat voit le chat"), ("a dog runs", "la chien court"),
         ("the big red house", None), ("a small dog sleeps and the cat runs", "le petit chien dort")]


@pytest.fixture(scope="module")
def model():
    return make_tiny_model()


def assert_stats_equal(got: dict, expected: dict, atol: float = 2e-6) -> None:
    for name in STATISTICS:
        np.testing.assert_allclose(got[name], expected[name], atol=atol, rtol=0, err_msg=name)


def test_lines_skip_blanks_split_at_the_first_tab_and_keep_their_numbers():
    lines = parse_lines(["the cat\tle chat\n", "   \n", "\n", "a dog\r\n", "x\t\n", "a\tb\tc"])
    assert lines == [CorpusLine(1, "the cat", "le chat"), CorpusLine(4, "a dog", None),
                     CorpusLine(5, "x", None), CorpusLine(6, "a", "b\tc")]


def test_the_line_limit_and_an_empty_or_unreadable_file_are_named(tmp_path):
    with pytest.raises(engine.InputError, match=r"more than 3 inputs \(line 5 is the 4th\)"):
        parse_lines(["a", "b", "", "c", "d"], limit=3)
    (tmp_path / "blank.txt").write_text("\n  \n", encoding="utf-8")
    with pytest.raises(engine.InputError, match="blank.txt: the corpus holds no input"):
        read_corpus(tmp_path / "blank.txt")
    (tmp_path / "latin1.txt").write_bytes("café\n".encode("latin-1"))
    with pytest.raises(engine.InputError, match="latin1.txt is not UTF-8 text"):
        read_corpus(tmp_path / "latin1.txt")


@pytest.mark.parametrize("source, target", [PAIRS[0], PAIRS[2]])  # a given target, a decoded one
def test_n_copies_of_one_input_give_that_inputs_statistics(model, source, target):
    trace = model.run(source, target)
    line = source if target is None else f"{source}\t{target}"
    result = corpus_head_stats(model, [line] * 5, batch_size=4)  # batches of 4 and 1
    assert result.n_inputs == 5 and result.problems == ()
    for kind in model.kinds:
        assert_stats_equal(result.of(kind), head_stats(trace, kind))


def test_a_mixed_corpus_is_the_mean_of_each_inputs_statistics(model):
    traces = [model.run(s, t) for s, t in PAIRS]
    lines = [s if t is None else f"{s}\t{t}" for s, t in PAIRS]
    result = corpus_head_stats(model, lines, batch_size=2)  # padded targets, decoded ones, lengths
    assert result.n_inputs == 4 and result.problems == ()
    for kind in model.kinds:
        per_input = [head_stats(trace, kind) for trace in traces]
        for name in STATISTICS:
            stacked = np.stack([stats[name] for stats in per_input])
            defined = ~np.isnan(stacked)
            # Induction is a mean over the inputs where it is defined (a token comes back).
            expected = np.where(defined.any(0), np.nansum(stacked, 0) / np.maximum(defined.sum(0), 1),
                                np.nan)
            np.testing.assert_allclose(result.of(kind)[name], expected, atol=2e-6, err_msg=f"{kind} {name}")
            np.testing.assert_array_equal(result.counts[kind][name], defined.sum(0))
    # Only the first pair repeats a word ("the cat ... the cat") beyond the next position.
    assert result.counts["encoder"]["induction"].max() == 1
    assert np.isnan(result.of("cross")["induction"]).all()


def test_bad_lines_are_skipped_and_named_by_number_and_the_run_goes_on():
    short = make_tiny_model(positions="learned", max_positions=8)
    lines = parse_lines(["the cat sleeps\tle chat dort", "", "the zebra sleeps\tle chat dort",
                         "the cat and the dog and the red house sleeps\tle chat dort",
                         "a dog runs\tla chien court"])
    result = corpus_head_stats(short, lines)
    assert result.n_inputs == 2
    assert len(result.problems) == 2
    assert result.problems[0].startswith("line 3: the tokenizer does not know 'zebra'")
    assert result.problems[1].startswith("line 4: the source has 11 tokens; this model accepts at most 8")
    with pytest.raises(engine.InputError, match="no line of the corpus could be run: line 1: the tokenizer"):
        corpus_head_stats(short, ["the zebra"])


def test_progress_counts_up_to_the_total_and_cancelling_stops_before_the_next_batch(model):
    lines = [f"{s}\t{t}" for s, t in PAIRS if t] * 4 + ["the big red house"] * 2  # 12 given, 2 decoded
    seen = []
    corpus_head_stats(model, lines, "cross", progress=lambda done, total: seen.append((done, total)),
                      batch_size=3)
    assert seen[-1] == (30, 30)  # each line read and recorded, and each of the two decoded
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    calls = []
    with pytest.raises(CorpusCancelled):
        corpus_head_stats(model, lines, "cross", progress=lambda *_: calls.append(1),
                          cancelled=lambda: len(calls) >= 2, batch_size=3)
    assert len(calls) == 2


def test_the_induction_demo_names_its_induction_head():
    lm = engine.load(MODELS / "induction.safetensors")
    examples = induction.generate(120, seed=0, split="eval", unique=True)
    result = corpus_head_stats(lm, [e.source_text for e in examples], "decoder")
    scores = result.of("decoder")["induction"]
    layer, head = np.unravel_index(int(np.nanargmax(scores)), scores.shape)
    assert (layer, head) == (1, 1)
    assert scores[1, 1] == pytest.approx(0.98, abs=0.015)
    assert scores[0].max() < 0.2  # layer 0 holds the previous-token heads, not induction heads
    assert result.counts["decoder"]["induction"].min() == 120  # every sequence repeats a span


def test_the_translators_best_aligning_head_is_the_one_its_training_summary_names():
    translator = engine.load(MODELS / "translator.safetensors")
    result = evaluate_heads(translator, 100, kind="cross")
    assert training_summary_head(translator) == (0, 2)
    assert best_head(result.alignment) == (0, 2)
    assert result.alignment[0, 2] == pytest.approx(1.0)
    assert result.aligned_words > 900 and result.n_inputs == 100
    # Scored exactly as engine.evaluate scores the heads (the summary's own numbers).
    from engine.evaluate import score

    pairs = translation.generate(30, 0, "eval", unique=True)
    expected = np.array(score(translator, pairs)["alignment_accuracy_per_head"])
    np.testing.assert_allclose(evaluate_heads(translator, 30, kind="cross").alignment, expected, atol=1e-4)


def test_a_model_without_an_alignment_task_cannot_evaluate_heads(model):
    with pytest.raises(engine.InputError, match="was not trained on a task with gold alignments"):
        evaluate_heads(model, 10)
