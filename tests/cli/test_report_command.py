"""``python main.py report`` and File → Export report…: one PDF, a titled page for each thing shown."""

import re
from pathlib import Path

import pytest

from main import main
from tests.conftest import make_tiny_model
from tests.pdf_text import page_texts

ROOT = Path(__file__).resolve().parents[2]
TRANSLATOR = ROOT / "assets" / "models" / "translator.safetensors"
SUBJECT = "toy English→French translator · “the small cat sleeps” → “le petit chat dort”"
TRANSLATOR_PAGES = [
    "contents",
    "all heads of Encoder self-attention",
    "all heads of Decoder self-attention",
    "all heads of Cross-attention (decoder → encoder)",
    "selected head: Cross-attention (decoder → encoder), layer 0, head 1",
    "logit lens: each layer's top token",
    "head statistics of Encoder self-attention",
    "head statistics of Decoder self-attention",
    "head statistics of Cross-attention (decoder → encoder)",
]


def pdf_pages(path) -> list[str]:
    data = Path(path).read_bytes()
    texts = page_texts(data)
    assert len(re.findall(rb"/Type\s*/Page(?!s)", data)) == len(texts)
    assert b"%%EOF" in data[-64:]
    return texts


def test_the_translator_report_has_a_titled_page_for_each_view(tmp_path, capsys):
    out = tmp_path / "report.pdf"
    assert main(["report", "--checkpoint", str(TRANSLATOR), "--source", "the small cat sleeps",
                 "--kind", "cross", "--head", "1", "--out", str(out)]) == 0
    assert "(9 pages)" in capsys.readouterr().out
    texts = pdf_pages(out)
    assert len(texts) == len(TRANSLATOR_PAGES)
    for text, what in zip(texts, TRANSLATOR_PAGES, strict=True):
        first, second = text.splitlines()[:2]
        assert (first, second) == (what, SUBJECT)  # each page: what it shows, then model and input
    contents = texts[0].splitlines()
    assert contents[2:] == [f"{n}. {what}" for n, what in enumerate(TRANSLATOR_PAGES[1:], start=2)]
    assert "toy English→French translator — Cross-attention (decoder → encoder), layer 0, head 1" in texts[4]
    assert "head statistics" in texts[8] and "entropy (nats)" in texts[8] and "induction" not in texts[8]
    assert "induction" in texts[6]  # a self-attention kind has all seven statistics


def test_a_model_without_an_output_head_says_there_is_no_logit_lens(tmp_path, capsys):
    checkpoint, out = tmp_path / "headless.safetensors", tmp_path / "report.pdf"
    make_tiny_model("encoder-only", output_head=False).save(checkpoint)
    assert main(["report", "--checkpoint", str(checkpoint), "--source", "the cat sees a dog",
                 "--out", str(out)]) == 0
    note = "No logit-lens page: this model has no output head to read the layers through."
    assert note in capsys.readouterr().out
    texts = pdf_pages(out)
    assert [text.splitlines()[0] for text in texts] == [
        "contents", "all heads of Encoder self-attention",
        "selected head: Encoder self-attention, layer 0, head 0", "head statistics of Encoder self-attention"]
    assert note in texts[0]


@pytest.mark.parametrize("args, message", [
    (["--out", "report.png"], "a report is a PDF file; use .pdf"),
    (["--checkpoint", "gone.safetensors", "--out", "r.pdf"], "checkpoint gone.safetensors not found"),
    (["--kind", "cross", "--layer", "5", "--out", "r.pdf"], "layer 5 is out of range"),
])
def test_bad_requests_are_named_in_one_line(tmp_path, monkeypatch, capsys, args, message):
    monkeypatch.chdir(tmp_path)
    assert main(["report", "--source", "the dog runs", *args]) == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1
    assert not list(tmp_path.iterdir())


def test_file_export_report_writes_the_window_s_trace(traced_report_window, tmp_path):
    window = traced_report_window
    report = window.reports.write(tmp_path / "window.pdf")
    texts = pdf_pages(tmp_path / "window.pdf")
    assert [t.splitlines()[0] for t in texts] == [page.what for page in report.pages]
    assert window.reports.action.isEnabled()
    assert f"Wrote {len(texts)} pages" in window.statusBar().currentMessage()


@pytest.fixture
def traced_report_window(qapp):
    from tests.visualizer.window_once import close, traced_hidden_window

    window = traced_hidden_window(qapp, TRANSLATOR, "the small cat sleeps", "")
    yield window
    close(qapp, window)
