"""Shared test setup: Qt runs offscreen; small models built in-process for every suite."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

TINY_WORDS = ("the a cat dog sees small big red house sleeps runs and . , "
              "le la chat chien voit petit grand rouge maison dort court et").split()


def make_tiny_model(architecture: str = "encoder-decoder", seed: int = 0, **overrides):
    """A 2+2-layer, 4-head random model with a word-level tokenizer (no training)."""
    import engine

    prepend_bos = architecture == "decoder-only"
    tokenizer = engine.word_level_tokenizer(TINY_WORDS, append_eos=not prepend_bos,
                                            prepend_bos=prepend_bos)
    settings = dict(architecture=architecture, vocab_size=tokenizer.vocab_size, d_model=32,
                    n_heads=4, n_encoder_layers=2, n_decoder_layers=2, d_ff=64, dropout=0.0,
                    max_decode_length=12)
    settings.update(overrides)
    return engine.create(engine.ModelConfig(**settings), tokenizer, f"tiny {architecture}", seed)


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory):
    """Path of a saved tiny encoder-decoder checkpoint (native .safetensors)."""
    path = tmp_path_factory.mktemp("models") / "tiny.safetensors"
    make_tiny_model().save(path)
    return path
