"""The repeated-span generator: reproducible, never leaking across the split, and learnable."""

import pytest
import torch

from engine import train
from engine.evaluate import pad
from engine.tasks import induction, split_of

# Before any induction head forms, the loss falls only as the model learns to predict words it
# has already seen: 120 steps take it from ln(280) = 5.6 to about 5.3.
TINY = train.TrainSettings(d_model=32, n_heads=2, n_decoder_layers=2, d_ff=64, steps=120, batch_size=32,
                           learning_rate=1e-2, warmup=5, label_smoothing=0.0)


def test_same_seed_same_sequences_and_different_seed_different_ones():
    first = induction.generate(50, seed=3)
    assert first == induction.generate(50, seed=3)
    assert first != induction.generate(50, seed=4)


def test_train_and_eval_never_share_a_sequence():
    train_set = induction.generate(5000, seed=0, split="train")
    held_out = induction.generate(500, seed=0, split="eval", unique=True)
    assert len({e.source_text for e in held_out}) == 500
    assert {e.source_text for e in train_set}.isdisjoint(e.source_text for e in held_out)
    assert all(split_of(e.source_text) == "eval" for e in held_out)
    assert all(split_of(e.source_text) == "train" for e in train_set)


def test_each_sequence_repeats_its_last_span_of_distinct_words():
    spans = set()
    for example in induction.generate(2000, seed=1):
        words, start = example.source, example.repeat_start
        span = len(words) - start
        spans.add(span)
        assert induction.MIN_SPAN <= span <= induction.MAX_SPAN
        assert words[start:] == words[start - span:start]
        assert len(set(words[:start])) == start  # distinct: every repeated word has one successor
        assert start - span <= induction.MAX_PREFIX
        assert set(words) <= set(induction.WORDS)
        assert list(example.predictable) == list(range(start + 1, len(words)))
    assert spans == set(range(induction.MIN_SPAN, induction.MAX_SPAN + 1))


def test_the_typed_text_gives_the_words_after_the_start_token_and_only_the_repeat_is_a_target():
    tokenizer = induction.tokenizer()
    example = induction.generate(1, seed=5)[0]
    ids, targets = induction.training_example(tokenizer, example)
    assert tokenizer.tokens_of(ids) == ["<s>", *example.source]  # no end token, no <unk>
    for position, target in enumerate(targets):
        if position in example.predictable:
            assert target == ids[position + 1]  # the next word
        else:
            assert target is None


def repeat_loss(model, examples) -> float:
    """Cross-entropy on the repeated words only."""
    rows = [induction.training_example(model.tokenizer, e) for e in examples]
    ids = pad([r[0] for r in rows])
    labels = pad([[-100 if t is None else t for t in r[1]] for r in rows], -100)
    with torch.inference_mode():
        logits = model.module.eval()(None, ids)
    return float(torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                                   labels.reshape(-1), ignore_index=-100))


def test_a_few_steps_lower_the_held_out_loss_on_the_repeat():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model = train.build_single_stack_model("induction", TINY, seed=0)
        assert model.kinds == ("decoder",) and model.config.output_head
        held_out = induction.generate(64, seed=0, split="eval")
        before = repeat_loss(model, held_out)
        losses = train.train_single_stack(model, "induction", induction.generate(2000, 0), TINY, seed=0,
                                          progress=False)
        after = repeat_loss(model, held_out)
    finally:
        torch.set_num_threads(previous)
    assert len(losses) == TINY.steps
    assert after < before - 0.2, (before, after)
    assert sum(losses[-5:]) < sum(losses[:5])


def test_score_reads_the_repeat_at_the_positions_that_predict_it():
    """A stand-in model that always predicts the true next word scores 1.0; one off by one, 0."""

    class Trace:
        def __init__(self, predicted):
            self.predicted_tokens = predicted

    example = induction.generate(1, seed=2)[0]
    right = Trace(list(example.source) + ["x"])  # position j predicts word j
    wrong = Trace(["x"] + list(example.source))
    assert all(induction._hits(right, example)) and not any(induction._hits(wrong, example))
    assert len(induction._hits(right, example)) == len(example.source) - example.repeat_start - 1


@pytest.mark.parametrize("text", ["dog red sings dog red sings", "Dog  red SINGS"])
def test_typed_words_are_known_to_the_tokenizer(text):
    assert "<unk>" not in induction.tokenizer().encode(text).tokens
