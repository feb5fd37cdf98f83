"""Our attention and layers against torch.nn's reference implementations, same weights, within 1e-5."""

import pytest
import torch
from torch import nn

from engine.attention import MultiHeadAttention
from engine.config import ModelConfig
from engine.hooks import interventions
from engine.model import DecoderLayer, EncoderLayer

D, H, FF = 32, 4, 64
TOL = dict(atol=1e-5, rtol=0)


def copy_attention(ours: MultiHeadAttention, ref: nn.MultiheadAttention) -> None:
    q, k, v = ref.in_proj_weight.detach().chunk(3)
    qb, kb, vb = ref.in_proj_bias.detach().chunk(3)
    with torch.no_grad():
        for proj, w, b in ((ours.q_proj, q, qb), (ours.k_proj, k, kb), (ours.v_proj, v, vb)):
            proj.weight.copy_(w)
            proj.bias.copy_(b)
        ours.out_proj.weight.copy_(ref.out_proj.weight)
        ours.out_proj.bias.copy_(ref.out_proj.bias)


def copy_norm(ours, ref: nn.LayerNorm) -> None:
    with torch.no_grad():
        ours.weight.copy_(ref.weight)
        ours.bias.copy_(ref.bias)


def copy_ffn(ours, linear1: nn.Linear, linear2: nn.Linear) -> None:
    with torch.no_grad():
        ours.w1.weight.copy_(linear1.weight)
        ours.w1.bias.copy_(linear1.bias)
        ours.w2.weight.copy_(linear2.weight)
        ours.w2.bias.copy_(linear2.bias)


def randomize(module: nn.Module, seed: int) -> None:
    """Non-trivial norms and biases, so that copying mistakes cannot hide."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.3 + (1.0 if p.dim() == 1 else 0.0) * 0.1)


def test_attention_matches_torch_multihead_attention():
    torch.manual_seed(0)
    ref = nn.MultiheadAttention(D, H, batch_first=True).eval()
    randomize(ref, 1)
    ours = MultiHeadAttention(D, H, D // H).eval()
    copy_attention(ours, ref)
    query, memory = torch.randn(3, 7, D), torch.randn(3, 5, D)
    key_padding = torch.tensor([[False] * 5, [False] * 3 + [True] * 2, [False] * 4 + [True]])

    expected, expected_weights = ref(query, memory, memory, key_padding_mask=key_padding,
                                     average_attn_weights=False)
    with interventions(ours, record=True) as hooks:
        got = ours(query, memory, (~key_padding)[:, None, None, :])
    torch.testing.assert_close(got, expected, **TOL)
    torch.testing.assert_close(hooks.values["pattern"], expected_weights, **TOL)


@pytest.mark.parametrize("norm_first", [False, True], ids=["post-LN", "pre-LN"])
def test_encoder_layer_matches_torch(norm_first):
    ref = nn.TransformerEncoderLayer(D, H, FF, dropout=0.0, activation="relu", batch_first=True,
                                     norm_first=norm_first).eval()
    randomize(ref, 2)
    config = ModelConfig(vocab_size=10, d_model=D, n_heads=H, d_ff=FF, dropout=0.0,
                         norm_placement="pre" if norm_first else "post")
    ours = EncoderLayer(config).eval()
    copy_attention(ours.self_attn, ref.self_attn)
    copy_norm(ours.norm_self, ref.norm1)
    copy_norm(ours.norm_ffn, ref.norm2)
    copy_ffn(ours.ffn, ref.linear1, ref.linear2)

    x = torch.randn(2, 9, D)
    padding = torch.zeros(2, 9, dtype=torch.bool)
    padding[1, 6:] = True
    with torch.no_grad():
        expected = ref(x, src_key_padding_mask=padding)
        got = ours(x, (~padding)[:, None, None, :])
    # torch's fast path leaves padded rows undefined; compare the real positions.
    torch.testing.assert_close(got[0], expected[0], **TOL)
    torch.testing.assert_close(got[1, :6], expected[1, :6], **TOL)


@pytest.mark.parametrize("norm_first", [False, True], ids=["post-LN", "pre-LN"])
def test_decoder_layer_matches_torch(norm_first):
    ref = nn.TransformerDecoderLayer(D, H, FF, dropout=0.0, activation="relu", batch_first=True,
                                     norm_first=norm_first).eval()
    randomize(ref, 3)
    config = ModelConfig(vocab_size=10, d_model=D, n_heads=H, d_ff=FF, dropout=0.0,
                         norm_placement="pre" if norm_first else "post")
    ours = DecoderLayer(config, cross_attention=True).eval()
    copy_attention(ours.self_attn, ref.self_attn)
    copy_attention(ours.cross_attn, ref.multihead_attn)
    copy_norm(ours.norm_self, ref.norm1)
    copy_norm(ours.norm_cross, ref.norm2)
    copy_norm(ours.norm_ffn, ref.norm3)
    copy_ffn(ours.ffn, ref.linear1, ref.linear2)

    target, memory = torch.randn(2, 11, D), torch.randn(2, 6, D)
    memory_padding = torch.zeros(2, 6, dtype=torch.bool)
    memory_padding[0, 4:] = True
    causal = nn.Transformer.generate_square_subsequent_mask(11)
    with torch.no_grad():
        expected = ref(target, memory, tgt_mask=causal, memory_key_padding_mask=memory_padding)
        got = ours(target, torch.ones(11, 11, dtype=torch.bool).tril()[None, None], None, memory,
                   (~memory_padding)[:, None, None, :])
    torch.testing.assert_close(got, expected, **TOL)


def test_layernorm_matches_torch_and_rmsnorm_matches_formula():
    from engine.norms import Norm

    x = torch.randn(4, 5, D) * 3 + 1
    ref = nn.LayerNorm(D, eps=1e-5)
    randomize(ref, 4)
    ours = Norm(D, "layernorm", 1e-5)
    copy_norm(ours, ref)
    torch.testing.assert_close(ours(x), ref(x), **TOL)

    rms = Norm(D, "rmsnorm", 1e-6, bias=False)
    with torch.no_grad():
        rms.weight.copy_(torch.linspace(0.5, 1.5, D))
    expected = rms.weight * x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6)
    torch.testing.assert_close(rms(x), expected, **TOL)
