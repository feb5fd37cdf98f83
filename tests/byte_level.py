"""A byte-level BPE tokenizer (GPT-2 style: "Ġ" for a space, UTF-8 bytes as characters) trained
in-process, and a tiny model using it, for the readable-token tests."""

from __future__ import annotations

CORPUS = ["the café is open 🙂", "a café au lait 🙂 please", "the cat sees the café",
          "le chat voit le café 🙂", "the cat and the dog\nsleep"] * 4


def byte_level_tokenizer(vocab_size: int = 300):
    """Specials ``<pad> <unk> <s> </s>`` are ids 0-3, as the engine's own tokenizers have them;
    ``</s>`` ends every encoding."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    from engine.tokenizer import SPECIAL_TOKENS, HFTokenizer

    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(SPECIAL_TOKENS),
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    backend.train_from_iterator(CORPUS, trainer)
    backend.post_processor = processors.TemplateProcessing(single="$A </s>",
                                                           special_tokens=[("</s>", 3)])
    return HFTokenizer(backend)


def byte_level_model():
    """A 2+2-layer, 4-head random encoder-decoder reading and writing byte-level pieces."""
    import engine

    tokenizer = byte_level_tokenizer()
    config = engine.ModelConfig(architecture="encoder-decoder", vocab_size=tokenizer.vocab_size,
                                d_model=32, n_heads=4, n_encoder_layers=2, n_decoder_layers=2,
                                d_ff=64, dropout=0.0, max_decode_length=12)
    return engine.create(config, tokenizer, "tiny byte-level")
