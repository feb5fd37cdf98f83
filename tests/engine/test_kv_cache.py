"""Greedy decoding with the KV cache equals decoding without it, in every family the tests build.

Two checks per model: each cached step's next-token scores match the uncached decoder's at the
same position (within 1e-5 of the scores' scale; only summation order differs), over a
continuation long enough for the features to bite (Mistral's and Gemma's windows of 4–5 keys,
T5's causal buckets past 8); and the greedy token ids are identical with and without the cache,
with and without an ablated head (the ablation applies at every step either way).
"""

import pytest
import torch

import engine
from engine.decoding import greedy_decode
from engine.hooks import interventions
from engine.kv_cache import DecodeCache
from tests.engine.hf_fixtures import (
    SENTENCES,
    hf_folder,
    one_torch_thread,  # noqa: F401 (an autouse fixture)
)
from tests.engine.hf_fixtures_gemma import gemma_folder
from tests.engine.hf_fixtures_gpt2 import gpt2_folder
from tests.engine.hf_fixtures_llama_family import family_folder
from tests.engine.test_shipped_models import TRANSLATOR

pytest.importorskip("transformers")

NEW_TOKENS = 14
SCORE_TOL = 1e-5
FOLDERS = {
    "marian": hf_folder, "bart": hf_folder, "t5": hf_folder, "gpt2": gpt2_folder,
    "llama": family_folder, "mistral": family_folder, "qwen3": family_folder,
    "gpt_neox": family_folder, "gemma2": gemma_folder, "gemma3_text": gemma_folder,
}


@pytest.fixture(scope="module", params=[*FOLDERS, "translator"])
def model(request, tmp_path_factory):
    name = request.param
    if name == "translator":
        if not TRANSLATOR.exists():
            pytest.skip("the shipped translator is not trained yet")
        return engine.load(TRANSLATOR)
    return engine.load(FOLDERS[name](name, tmp_path_factory))


def inputs(model) -> tuple[torch.Tensor | None, torch.Tensor]:
    """(source ids or None, the decoder prefix) for a short sentence."""
    text = SENTENCES[1] if model.config.architecture != "decoder-only" else SENTENCES[16]
    ids = torch.tensor([model.tokenizer.encode(text).ids])
    if model.config.architecture == "decoder-only":
        return None, ids
    return ids, torch.tensor([[model.config.decoder_start_token_id]])


@torch.inference_mode()
def test_each_cached_step_scores_as_the_whole_prefix_does(model):
    module = model.module
    source, prefix = inputs(model)
    memory = memory_mask = None
    if module.encoder is not None:
        memory, memory_mask = module.encode(source)
    # A fixed continuation (the uncached greedy one), fed one token at a time to the cache.
    new = greedy_decode(module, source, prefix, NEW_TOKENS, use_cache=False)[0]
    tokens = torch.cat([prefix, torch.tensor([new])], dim=1)
    whole = module.project(module.decode(tokens, memory, memory_mask))[0]
    cache = DecodeCache(model.config.n_decoder_layers, 4)  # too small: the buffers must grow
    steps = [module.project(module.decode(prefix, memory, memory_mask, cache))[0]]
    for position in range(prefix.shape[1], tokens.shape[1]):
        steps.append(module.project(module.decode(tokens[:, position:position + 1], memory,
                                                  memory_mask, cache))[0])
    cached = torch.cat(steps)
    assert cache.length == tokens.shape[1]
    scale = float(whole.abs().max())
    assert float((cached - whole).abs().max()) <= SCORE_TOL * max(scale, 1.0)


@pytest.mark.parametrize("ablated", [False, True], ids=["plain", "ablated"])
def test_greedy_ids_are_identical_with_and_without_the_cache(model, ablated):
    source, prefix = inputs(model)
    ablate = [("decoder", 0, 1), ("decoder", model.config.n_decoder_layers - 1, 0)] if ablated else []
    with interventions(model.module, ablate=ablate):
        plain = greedy_decode(model.module, source, prefix, NEW_TOKENS, use_cache=False)
        cached = greedy_decode(model.module, source, prefix, NEW_TOKENS)
    assert cached == plain
    if ablated:  # the ablation bites at the step level: the scores differ from the plain model's
        with torch.inference_mode():
            memory = model.module.encode(source) if source is not None else (None, None)
            hidden = model.module.decode(prefix, *memory)
            with interventions(model.module, ablate=ablate):
                hidden_ablated = model.module.decode(prefix, *memory)
        assert float((hidden - hidden_ablated).abs().max()) > 1e-4
