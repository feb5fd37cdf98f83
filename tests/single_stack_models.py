"""Tiny single-stack models for the predictions and continuation tests (engine, CLI and GUI)."""

import engine
from tests.conftest import TINY_WORDS, make_tiny_model


def mlm_model(**overrides):
    """A tiny encoder-only model with an MLM head over a vocabulary that has "[MASK]"."""
    model = make_tiny_model("encoder-only", output_head=True,
                            vocab_size=engine.word_level_tokenizer(TINY_WORDS).vocab_size + 1, **overrides)
    model.tokenizer.backend.add_special_tokens(["[MASK]"])
    return model


def endless_decoder(**overrides):
    """A tiny decoder-only model that never predicts its end token, so it writes every token asked."""
    model = make_tiny_model("decoder-only", seed=3, final_logits_bias=True, **overrides)
    model.module.final_logits_bias.data[model.config.eos_token_id] = -100.0
    return model
