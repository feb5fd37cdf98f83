"""The agreement generator: reproducible, never leaking, the right auxiliary, a typed mask, learnable."""

import pytest
import torch

from engine import train
from engine.evaluate import pad
from engine.tasks import agreement, split_of
from engine.tasks.french_lexicon import ADJECTIVES, NOUNS, VERBS

TINY = train.TrainSettings(d_model=32, n_heads=2, n_encoder_layers=2, d_ff=64, steps=60, batch_size=32,
                           learning_rate=3e-3, warmup=5, label_smoothing=0.0)
SINGULAR = {n.en for n in NOUNS}
PLURAL = {n.en_plural for n in NOUNS}
ANIMATE_NOUNS = {w for n in NOUNS if n.animate for w in (n.en, n.en_plural)}


def test_same_seed_same_sentences_and_different_seed_different_ones():
    first = agreement.generate(50, seed=3)
    assert first == agreement.generate(50, seed=3)
    assert first != agreement.generate(50, seed=4)


def test_train_and_eval_never_share_a_sentence():
    train_set = agreement.generate(5000, seed=0, split="train")
    held_out = agreement.generate(500, seed=0, split="eval", unique=True)
    assert len({e.source_text for e in held_out}) == 500
    assert {e.source_text for e in train_set}.isdisjoint(e.source_text for e in held_out)
    assert all(split_of(e.source_text) == "eval" for e in held_out)


def expected_answer(words, subject: int, mask: int) -> str:
    """The auxiliary, worked out again from the words: the subject's number, the next word's kind."""
    plural = words[subject] in PLURAL
    following = words[mask + 1]
    if following == "not":
        verb = "be" if words[mask + 2] in {a.en for a in ADJECTIVES} else "do"
    else:
        verb = "be" if following in {a.en for a in ADJECTIVES} else "have"
    return agreement.AUXILIARIES[verb][plural]


def test_the_hidden_word_agrees_with_the_first_noun_whatever_comes_between():
    attracted = 0
    for example in agreement.generate(3000, seed=1):
        words, mask, subject = example.source, example.mask_index, example.subject_index
        assert words.count(agreement.MASK) == 1 and words[mask] == agreement.MASK
        nouns = [i for i, w in enumerate(words) if w in SINGULAR | PLURAL]
        assert nouns[0] == subject and words[subject] in ANIMATE_NOUNS
        assert example.answer == expected_answer(words, subject, mask)
        between = [words[i] for i in nouns if subject < i < mask]
        attracted += any((w in PLURAL) != (words[subject] in PLURAL) for w in between)
    assert attracted > 600  # a noun of the other number often stands between subject and mask


def test_every_auxiliary_and_every_modifier_appears():
    examples = agreement.generate(2000, seed=2)
    assert {e.answer for e in examples} == {w for pair in agreement.AUXILIARIES.values() for w in pair}
    verbs = {v.en for v in VERBS} | {v.en_base for v in VERBS}
    assert any("that" in e.source and e.source[e.source.index("that") + 1] in verbs for e in examples)
    assert any("," in e.source for e in examples)
    assert len({e.mask_index for e in examples}) >= 10


@pytest.mark.parametrize("typed", ["[MASK]", "[mask]", "<mask>", "<MASK>"])
def test_the_mask_can_be_typed_and_is_one_token(typed):
    tokenizer = agreement.tokenizer()
    encoding = tokenizer.encode(f"Today, the dogs with my cat {typed} happy")
    assert encoding.tokens == ["<s>", "today", ",", "the", "dogs", "with", "my", "cat", agreement.MASK,
                               "happy", "</s>"]
    assert tokenizer.token_to_id(agreement.MASK) == tokenizer.vocab_size - 1


def test_targets_are_the_hidden_word_at_the_mask_and_each_word_elsewhere():
    tokenizer = agreement.tokenizer()
    example = agreement.generate(1, seed=5)[0]
    ids, targets = agreement.training_example(tokenizer, example)
    mask = example.mask_index + 1  # after <s>
    assert tokenizer.tokens_of(ids) == ["<s>", *example.source, "</s>"]
    assert targets[mask] == tokenizer.token_to_id(example.answer)
    assert [t for i, t in enumerate(targets) if i != mask] == [t for i, t in enumerate(ids) if i != mask]


def mask_loss(model, examples) -> float:
    """Cross-entropy at the masks only."""
    rows = [agreement.training_example(model.tokenizer, e) for e in examples]
    ids = pad([r[0] for r in rows])
    labels = torch.full_like(ids, -100)
    for row, (example, (_, targets)) in enumerate(zip(examples, rows, strict=True)):
        labels[row, example.mask_index + 1] = targets[example.mask_index + 1]
    with torch.inference_mode():
        logits = model.module.eval()(ids)
    return float(torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                                   labels.reshape(-1), ignore_index=-100))


def test_a_few_steps_lower_the_held_out_loss_at_the_mask():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model = train.build_single_stack_model("agreement", TINY, seed=0)
        assert model.kinds == ("encoder",) and model.config.output_head
        held_out = agreement.generate(64, seed=0, split="eval")
        before = mask_loss(model, held_out)
        losses = train.train_single_stack(model, "agreement", agreement.generate(2000, 0), TINY, seed=0,
                                          progress=False)
        after = mask_loss(model, held_out)
    finally:
        torch.set_num_threads(previous)
    assert len(losses) == TINY.steps
    assert after < before - 1.0, (before, after)
    assert sum(losses[-5:]) < sum(losses[:5])
