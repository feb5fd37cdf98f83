"""Tiny random Gemma 2 and Gemma 3 models saved as Hugging Face folders.

Each config exercises what its family adds. Gemma 2: sandwich norms with (1 + w) gains,
grouped-query attention with d_head apart from d / heads, query_pre_attn_scalar apart from
d_head, alternating local and global layers with a window of 4 keys (shorter than the test
texts), and attention and logit soft-capping low enough to bite. Gemma 3: per-head q/k norms, a
global rotary base with linear scaling and a local base of its own, every third layer global.
``gemma3`` is the same text model inside Gemma3ForConditionalGeneration with a one-layer vision
tower. Tokenizers are the byte-level BPE of the Llama fixtures, adding their start token.
Weights are of unit scale, so attention is far from uniform.
"""

from __future__ import annotations

from pathlib import Path

import torch

from tests.engine.hf_fixtures_llama_family import fast_tokenizer_with_bos

WINDOW = 4
TINY = dict(hidden_size=32, num_attention_heads=4, num_key_value_heads=2, head_dim=16,
            num_hidden_layers=4, intermediate_size=64, max_position_embeddings=256,
            sliding_window=WINDOW, query_pre_attn_scalar=24, hidden_activation="gelu_pytorch_tanh")
GEMMA3_ROPE = {"full_attention": {"rope_type": "linear", "factor": 2.0, "rope_theta": 100000.0},
               "sliding_attention": {"rope_type": "default", "rope_theta": 500.0}}
SOFTCAPS = {"attn_logit_softcapping": 5.0, "final_logit_softcapping": 8.0}
VARIANTS = ("gemma2", "gemma3_text", "gemma3")

_built: dict[str, Path] = {}


def gemma_folder(variant: str, tmp_path_factory) -> Path:
    """The saved folder of ``variant`` (built on first use in this session)."""
    if variant not in _built:
        folder = tmp_path_factory.mktemp(f"hf-{variant}")
        BUILDERS[variant](folder)
        _built[variant] = folder
    return _built[variant]


def load_reference(folder: Path, variant: str):
    """transformers' model (eager attention, eval mode, float32) and tokenizer for ``folder``."""
    from transformers import AutoModelForCausalLM, AutoTokenizer, Gemma3ForConditionalGeneration

    kind = Gemma3ForConditionalGeneration if variant == "gemma3" else AutoModelForCausalLM
    model = kind.from_pretrained(folder, attn_implementation="eager", dtype=torch.float32)
    return model.eval(), AutoTokenizer.from_pretrained(folder)


def randomize(model, seed: int) -> None:
    """Embeddings N(0,1), matrices N(0, 1/fan_in) with q and k doubled so that heads focus,
    norm gains 1 ± 0.1 (stored as offsets from 1), q/k norm gains 2.5 ± 0.1."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in model.named_parameters():
            noise = torch.randn(tensor.shape, generator=generator)
            if "vision_tower" in name or "multi_modal_projector" in name:
                continue
            if "embed_tokens" in name:
                tensor.copy_(noise)
            elif "q_norm" in name or "k_norm" in name:
                tensor.copy_(1.5 + 0.1 * noise)
            elif tensor.dim() == 1:
                tensor.copy_(0.1 * noise)
            else:
                scale = 2.0 if any(p in name for p in ("q_proj", "k_proj")) else 1.0
                tensor.copy_(scale * noise / tensor.shape[1] ** 0.5)


def _ids(tokenizer) -> dict:
    return dict(vocab_size=len(tokenizer), bos_token_id=tokenizer.bos_token_id,
                eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.eos_token_id)


def build_gemma2(folder: Path) -> None:
    from transformers import Gemma2Config, Gemma2ForCausalLM

    tokenizer = fast_tokenizer_with_bos()
    config = Gemma2Config(**_ids(tokenizer), **TINY, **SOFTCAPS,
                          rope_parameters={"rope_type": "default", "rope_theta": 10000.0})
    torch.manual_seed(7)
    model = Gemma2ForCausalLM(config)
    randomize(model, seed=17)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)


def gemma3_text_config(tokenizer):
    from transformers import Gemma3TextConfig

    return Gemma3TextConfig(**_ids(tokenizer), **TINY, sliding_window_pattern=3,
                            rope_parameters={k: dict(v) for k, v in GEMMA3_ROPE.items()})


def build_gemma3_text(folder: Path) -> None:
    from transformers import Gemma3ForCausalLM

    tokenizer = fast_tokenizer_with_bos()
    torch.manual_seed(8)
    model = Gemma3ForCausalLM(gemma3_text_config(tokenizer))
    randomize(model, seed=18)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)


def build_gemma3(folder: Path) -> None:
    from transformers import Gemma3Config, Gemma3ForConditionalGeneration, SiglipVisionConfig

    tokenizer = fast_tokenizer_with_bos()
    vision = SiglipVisionConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                num_attention_heads=2, image_size=28, patch_size=14)
    text = gemma3_text_config(tokenizer)
    config = Gemma3Config(text_config=text, vision_config=vision, mm_tokens_per_image=4,
                          image_token_index=len(tokenizer) - 1, boi_token_index=len(tokenizer) - 2,
                          eoi_token_index=len(tokenizer) - 3, **{k: v for k, v in _ids(tokenizer).items()
                                                                 if k != "vocab_size"})
    torch.manual_seed(9)
    model = Gemma3ForConditionalGeneration(config)
    randomize(model, seed=19)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)


BUILDERS = {"gemma2": build_gemma2, "gemma3_text": build_gemma3_text, "gemma3": build_gemma3}
