"""``python main.py export --view head-stats``: one input, ``--inputs FILE`` and ``--evaluate-heads N``."""

import csv
from pathlib import Path

import numpy as np
import pytest

import engine
from engine.corpus_file import read_corpus
from engine.corpus_stats import corpus_head_stats
from engine.head_stats import STATISTICS, head_stats
from main import main
from tests.export_checks import assert_pdf, svg_texts

TRANSLATOR = Path(__file__).resolve().parents[2] / "assets" / "models" / "translator.safetensors"
CORPUS = ["the cat sees the cat\tle chat voit le chat", "", "a zebra runs", "the small dog runs"]


@pytest.fixture(scope="module")
def corpus_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("corpus") / "inputs.txt"
    path.write_text("\n".join(CORPUS) + "\n", encoding="utf-8")
    return path


def export(checkpoint, *args) -> int:
    return main(["export", "--view", "head-stats", "--checkpoint", str(checkpoint), *map(str, args)])


def test_one_inputs_npz_holds_every_statistic_of_engine_head_stats(tiny_checkpoint, tmp_path):
    out = tmp_path / "stats.npz"
    assert export(tiny_checkpoint, "--source", "the cat sees the cat", "--target", "le chat voit le chat",
                  "--kind", "encoder", "--out", out) == 0
    expected = head_stats(engine.load(tiny_checkpoint).run("the cat sees the cat", "le chat voit le chat"),
                          "encoder")
    with np.load(out, allow_pickle=False) as data:
        for name in STATISTICS:
            assert data[name].dtype == np.float32 and data[name].shape == (2, 4)
            np.testing.assert_array_equal(data[name], expected[name])
        assert not np.isnan(data["induction"]).any()  # "the cat" comes back
        np.testing.assert_array_equal(data["matrix"], expected["entropy"])
        assert "n_inputs" not in data.files and str(data["statistics_over"]) == "this input"


def test_inputs_file_gives_the_corpus_means_and_names_the_skipped_line(tiny_checkpoint, corpus_file,
                                                                       tmp_path, capsys):
    out = tmp_path / "corpus.npz"
    assert export(tiny_checkpoint, "--inputs", corpus_file, "--kind", "decoder", "--out", out) == 0
    assert "export: skipped line 3: the tokenizer does not know 'zebra'" in capsys.readouterr().err
    expected = corpus_head_stats(engine.load(tiny_checkpoint), read_corpus(corpus_file), "decoder")
    with np.load(out, allow_pickle=False) as data:
        assert int(data["n_inputs"]) == 2 and int(data["skipped_lines"]) == 1
        for name in STATISTICS:
            np.testing.assert_array_equal(data[name], expected.of("decoder")[name])
        np.testing.assert_array_equal(data["induction_inputs"], expected.counts["decoder"]["induction"])
        assert str(data["statistics_over"]) == "mean over 2 inputs (inputs.txt)"


def test_every_format_of_a_corpus_run_is_a_real_file(tiny_checkpoint, corpus_file, tmp_path, qapp):
    for suffix in ("png", "svg", "pdf", "csv"):
        assert export(tiny_checkpoint, "--inputs", corpus_file, "--kind", "encoder",
                      "--statistic", "diagonal", "--out", tmp_path / f"stats.{suffix}") == 0
    assert (tmp_path / "stats.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    texts = svg_texts(tmp_path / "stats.svg")
    assert any("heads: diagonal" in text for text in texts) and "mean over 2 inputs (inputs.txt)" in texts
    assert_pdf(tmp_path / "stats.pdf")
    with open(tmp_path / "stats.csv", newline="", encoding="utf-8") as stream:
        rows = list(csv.reader(stream))
    expected = corpus_head_stats(engine.load(tiny_checkpoint), read_corpus(corpus_file), "encoder")
    assert rows[0] == ["layer \\ head", "H0", "H1", "H2", "H3"]  # the CSV is the entropy matrix
    np.testing.assert_array_equal(np.array([[float(v) for v in row[1:]] for row in rows[1:]], np.float32),
                                  expected.of("encoder")["entropy"])


def test_evaluate_heads_names_the_training_summarys_best_head(tmp_path):
    out = tmp_path / "alignment.npz"
    assert export(TRANSLATOR, "--evaluate-heads", 40, "--out", out) == 0
    with np.load(out, allow_pickle=False) as data:
        assert data["best_alignment_head"].tolist() == [0, 2]
        assert data["alignment_accuracy"][0, 2] == pytest.approx(1.0)
        assert int(data["n_inputs"]) == 40 and int(data["aligned_words"]) > 300
        assert str(data["kind"]) == "cross"


@pytest.mark.parametrize("args, problem", [
    (["--view", "attention", "--inputs", "x.txt"], "--inputs is for --view head-stats"),
    (["--view", "head-stats", "--inputs", "x.txt", "--evaluate-heads", "5"], "not both"),
    (["--view", "head-stats", "--inputs", "missing.txt"], "cannot read missing.txt"),
    (["--view", "head-stats", "--evaluate-heads", "5"], "was not trained on a task with gold alignments"),
    (["--view", "head-stats"], "--source TEXT is required"),
])
def test_misuse_is_one_line_naming_the_problem(tiny_checkpoint, tmp_path, monkeypatch, capsys, args, problem):
    monkeypatch.chdir(tmp_path)
    assert main(["export", "--checkpoint", str(tiny_checkpoint), *args, "--out", "s.npz"]) == 2
    assert problem in capsys.readouterr().err
    assert not (tmp_path / "s.npz").exists()
