"""Facts about a decoder LLM's family for the facts box: which family, how its heads share keys
and values, how its weights are stored, and how its rotary positions are scaled. Qt-free."""

from __future__ import annotations

# config.extra["family"] -> the name people use
FAMILY_NAMES = {"llama": "Llama", "mistral": "Mistral", "qwen2": "Qwen2", "qwen3": "Qwen3",
                "gpt_neox": "GPT-NeoX (Pythia)", "gpt2": "GPT-2", "modernbert": "ModernBERT",
                "bert": "BERT", "distilbert": "DistilBERT", "bart": "BART", "marian": "Marian",
                "t5": "T5", "gemma2": "Gemma 2", "gemma3_text": "Gemma 3"}


def family_facts(config) -> list[tuple[str, str]]:
    """(label, value) rows that apply to ``config``: family, heads, blocks and dtype."""
    rows = []
    family = config.extra.get("family")
    if isinstance(family, str):
        rows.append(("Family", FAMILY_NAMES.get(family, family)))
    if config.kv_heads < config.n_heads:
        rows.append(("Heads", f"{config.n_heads} query heads share {config.kv_heads} key/value "
                              f"head{'s' if config.kv_heads > 1 else ''} "
                              f"({config.n_heads // config.kv_heads} per group)"))
    blocks = []
    if config.parallel_blocks:
        blocks.append("attention and FFN in parallel")
    if config.qk_norm:
        blocks.append("RMSNorm on each head's q and k")
    if config.sandwich_norms:
        blocks.append("a norm on each sublayer's output too")
    if blocks:
        rows.append(("Blocks", "; ".join(blocks)))
    stored = config.extra.get("stored_dtype")
    if isinstance(stored, str):
        rows.append(("dtype", f"{stored} on disk, float32 compute"))
    return rows


def rope_scaling_text(config) -> str:
    """", llama3 scaling ×8 from 8,192 positions" (empty without scaling)."""
    scaling = config.rope_scaling
    if not scaling:
        return ""
    text = f", {scaling['type']} scaling ×{scaling['factor']:g}"
    if "original_max_positions" in scaling:
        text += f" from {scaling['original_max_positions']:,.0f} positions"
    return text
