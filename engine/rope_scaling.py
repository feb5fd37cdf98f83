"""Rotary frequency scaling for long contexts: the ``linear`` and ``llama3`` schemes.

A scaling is a plain dict (``ModelConfig.rope_scaling``), e.g. ``{"type": "llama3", "factor": 8.0,
"low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_positions": 8192}``. Both schemes
only change the inverse frequencies, once, and leave cos and sin unscaled. Schemes that depend on
the text's length or rescale the attention (dynamic NTK, YaRN, LongRoPE) are not supported.
"""

from __future__ import annotations

import math

import torch

# type -> the numeric settings it needs
SCALINGS = {
    "linear": ("factor",),
    "llama3": ("factor", "low_freq_factor", "high_freq_factor", "original_max_positions"),
}


def check_scaling(scaling: dict) -> None:
    """Raise ValueError naming an unknown type or a missing or impossible setting."""
    kind = scaling.get("type")
    if kind not in SCALINGS:
        raise ValueError(f"ModelConfig.rope_scaling type {kind!r} is not supported; supported: "
                         f"{', '.join(SCALINGS)}")
    expected = {"type", *SCALINGS[kind]}
    unknown = sorted(set(scaling) - expected)
    if unknown:
        raise ValueError(f"ModelConfig.rope_scaling ({kind}) has unknown settings: {', '.join(unknown)}")
    for name in SCALINGS[kind]:
        value = scaling.get(name)
        if (not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value)
                or value <= 0):
            raise ValueError(f"ModelConfig.rope_scaling ({kind}) needs {name} as a positive "
                             f"number, got {value!r}")
    if kind == "llama3" and scaling["high_freq_factor"] <= scaling["low_freq_factor"]:
        raise ValueError("ModelConfig.rope_scaling (llama3) needs high_freq_factor above "
                         f"low_freq_factor, got {scaling['high_freq_factor']} and "
                         f"{scaling['low_freq_factor']}")


def scale_frequencies(inverse: torch.Tensor, scaling: dict | None) -> torch.Tensor:
    """The inverse frequencies (float32) under ``scaling``, computed in the Hugging Face order."""
    if scaling is None:
        return inverse
    factor = scaling["factor"]
    if scaling["type"] == "linear":  # positions divided by the factor
        return inverse / factor
    # llama3: long wavelengths slow down by the factor, short ones keep theirs, and the band
    # between blends the two smoothly.
    low, high = scaling["low_freq_factor"], scaling["high_freq_factor"]
    context = scaling["original_max_positions"]
    wavelength = 2 * math.pi / inverse
    slowed = torch.where(wavelength > context / low, inverse / factor, inverse)
    smooth = (context / wavelength - low) / (high - low)
    blended = (1 - smooth) * slowed / factor + smooth * slowed
    medium = ~(wavelength < context / high) * ~(wavelength > context / low)
    return torch.where(medium, blended, slowed)
