"""Tiny random Llama, Mistral, Qwen2, Qwen3 and GPT-NeoX models saved as Hugging Face folders.

Each config exercises what its family adds: grouped-query attention and llama3 rope scaling
(Llama; a second one with biases, linear scaling and a tied head), a sliding window of 5 keys,
shorter than the test texts (Mistral), q/k/v biases and tied embeddings (Qwen2), per-head q/k
norms with a head size apart from d / heads (Qwen3), partial rotary with parallel and with
serial blocks (GPT-NeoX). Tokenizers are byte-level BPE trained here and saved by the tokenizer
class each family's folders name: a Llama-3-style fast tokenizer that adds its start token,
Qwen2Tokenizer and GPTNeoXTokenizer, which add none. Weights are of unit scale, so attention is
far from uniform. transformers is imported only in tests, never by the app.
"""

from __future__ import annotations

from pathlib import Path

import torch

from tests.engine.hf_fixtures_gpt2 import EOS, train_vocab

BOS = "<|begin_of_text|>"
LLAMA3_ROPE = {"rope_type": "llama3", "rope_theta": 10000.0, "factor": 4.0, "low_freq_factor": 1.0,
               "high_freq_factor": 4.0, "original_max_position_embeddings": 16}
WINDOW = 5
TINY = dict(hidden_size=32, num_attention_heads=4, num_hidden_layers=2, intermediate_size=64,
            max_position_embeddings=256)
VARIANTS = ("llama", "llama_biased", "mistral", "qwen2", "qwen3", "gpt_neox", "gpt_neox_serial")

_built: dict[str, Path] = {}
_vocab: list = []


def family_folder(variant: str, tmp_path_factory) -> Path:
    """The saved folder of ``variant`` (built on first use in this session)."""
    if variant not in _built:
        folder = tmp_path_factory.mktemp(f"hf-{variant}")
        BUILDERS[variant](folder)
        _built[variant] = folder
    return _built[variant]


def load_reference(folder: Path, dtype=torch.float32):
    """transformers' causal LM (eager attention, eval mode, float32) and tokenizer for ``folder``."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(folder, attn_implementation="eager", dtype=dtype)
    return model.eval(), AutoTokenizer.from_pretrained(folder)


def vocabulary():
    if not _vocab:
        _vocab.append(train_vocab())
    return _vocab[0]


def randomize(model, seed: int) -> None:
    """Embeddings N(0,1), matrices N(0, 1/fan_in) with q and k doubled so that heads focus,
    norm gains 1 +- 0.1 (q/k norm gains 2.5 +- 0.25), biases 0.1 N(0,1)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in model.named_parameters():
            noise = torch.randn(tensor.shape, generator=generator)
            if "embed_tokens" in name or "embed_in" in name:
                tensor.copy_(noise)
            elif "q_norm" in name or "k_norm" in name:  # unit-rms q and k would attend evenly
                tensor.copy_(2.5 * (1 + 0.1 * noise))
            elif tensor.dim() == 1:
                tensor.copy_(1 + 0.1 * noise if "norm" in name and name.endswith("weight")
                             else 0.1 * noise)
            else:
                scale = 2.0 if any(p in name for p in ("q_proj", "k_proj", "query_key_value")) else 1.0
                tensor.copy_(scale * noise / tensor.shape[1] ** 0.5)


def fast_tokenizer_with_bos():
    """A Llama-3-style tokenizer.json: byte-level BPE, and a post-processor adding the start token."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab, merges = vocabulary()
    backend = Tokenizer(models.BPE(vocab, merges))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    backend.add_special_tokens([EOS, BOS])
    bos_id = backend.token_to_id(BOS)
    backend.post_processor = processors.TemplateProcessing(single=f"{BOS} $A",
                                                           special_tokens=[(BOS, bos_id)])
    return PreTrainedTokenizerFast(tokenizer_object=backend, bos_token=BOS, eos_token=EOS)


def save(model, tokenizer, folder: Path, seed: int) -> None:
    randomize(model, seed)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)


def build_llama(folder: Path, biased: bool = False) -> None:
    """GQA and llama3 scaling; ``biased``: attention and MLP biases, linear scaling, tied head."""
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = fast_tokenizer_with_bos()
    rope = {"rope_type": "linear", "rope_theta": 500.0, "factor": 2.0} if biased else LLAMA3_ROPE
    config = LlamaConfig(vocab_size=len(tokenizer), num_key_value_heads=2, rope_parameters=rope,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                         tie_word_embeddings=biased, attention_bias=biased, mlp_bias=biased, **TINY)
    torch.manual_seed(1)
    save(LlamaForCausalLM(config), tokenizer, folder, seed=17 if biased else 11)


def build_mistral(folder: Path) -> None:
    from transformers import MistralConfig, MistralForCausalLM

    tokenizer = fast_tokenizer_with_bos()
    config = MistralConfig(vocab_size=len(tokenizer), num_key_value_heads=1, sliding_window=WINDOW,
                           rope_parameters={"rope_type": "default", "rope_theta": 50000.0},
                           bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                           **TINY)
    torch.manual_seed(2)
    save(MistralForCausalLM(config), tokenizer, folder, seed=12)


def qwen_tokenizer():
    from transformers import Qwen2Tokenizer

    vocab, merges = vocabulary()
    return Qwen2Tokenizer(vocab=vocab, merges=merges)


def build_qwen2(folder: Path) -> None:
    from transformers import Qwen2Config, Qwen2ForCausalLM

    tokenizer = qwen_tokenizer()
    config = Qwen2Config(vocab_size=len(tokenizer), num_key_value_heads=2, tie_word_embeddings=True,
                         bos_token_id=None, eos_token_id=tokenizer.eos_token_id, **TINY)
    torch.manual_seed(3)
    save(Qwen2ForCausalLM(config), tokenizer, folder, seed=13)


def build_qwen3(folder: Path) -> None:
    from transformers import Qwen3Config, Qwen3ForCausalLM

    tokenizer = qwen_tokenizer()
    config = Qwen3Config(vocab_size=len(tokenizer), num_key_value_heads=2, head_dim=12,
                         bos_token_id=None, eos_token_id=tokenizer.eos_token_id,
                         rope_parameters={"rope_type": "default", "rope_theta": 1_000_000.0}, **TINY)
    torch.manual_seed(4)
    save(Qwen3ForCausalLM(config), tokenizer, folder, seed=14)


def build_gpt_neox(folder: Path, parallel: bool = True) -> None:
    from transformers import GPTNeoXConfig, GPTNeoXForCausalLM, GPTNeoXTokenizer

    vocab, merges = vocabulary()
    tokenizer = GPTNeoXTokenizer(vocab=vocab, merges=merges, pad_token=EOS)
    config = GPTNeoXConfig(vocab_size=len(vocab), use_parallel_residual=parallel,
                           rope_parameters={"rope_type": "default", "rope_theta": 10000.0,
                                            "partial_rotary_factor": 0.5},
                           bos_token_id=vocab[EOS], eos_token_id=vocab[EOS], **TINY)
    torch.manual_seed(5)
    save(GPTNeoXForCausalLM(config), tokenizer, folder, seed=15 if parallel else 16)


BUILDERS = {"llama": build_llama, "llama_biased": lambda folder: build_llama(folder, biased=True),
            "mistral": build_mistral, "qwen2": build_qwen2,
            "qwen3": build_qwen3, "gpt_neox": build_gpt_neox,
            "gpt_neox_serial": lambda folder: build_gpt_neox(folder, parallel=False)}
