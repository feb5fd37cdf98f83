"""Attention patterns written straight into one ``[layers, ...]`` tensor per kind while recording.

The Trace holds each kind's patterns as one array; stacking the layers' patterns after the pass
copied all of them (50 MB per kind for a Marian-size model at 512 tokens). Instead, once the
first layer's pattern of a kind has been seen (and copied into place), every later layer's
softmax writes into its own slot of that tensor: the pattern hook point of the next layer is
handed its slot (``HookPoint.out``), and the attention module's softmax takes it as ``out``.
The values are those of the plain softmax (the same kernel); a patched or zero-padded pattern,
which is a new tensor, is copied into its slot instead.
"""

from __future__ import annotations

import torch

from .kinds import KINDS


class PatternStacks:
    """One recorded pass's pattern tensors, by kind: ``[layers, B, heads, q, k]``."""

    def __init__(self, points: dict, config):
        self.points = points
        self.names: dict[str, list[str]] = {}
        self.where: dict[str, tuple[str, int]] = {}
        for kind in config.kinds:
            layers = config.n_encoder_layers if kind == "encoder" else config.n_decoder_layers
            names = [KINDS[kind].hook.format(i) + ".pattern" for i in range(layers)]
            if all(name in points for name in names):
                self.names[kind] = names
                self.where.update({name: (kind, i) for i, name in enumerate(names)})
        self.stacks: dict[str, torch.Tensor] = {}

    def recorder(self, name: str, values: dict):
        kind, layer = self.where[name]

        def hook(_module, _args, output):
            stack = self.stacks.get(kind)
            if stack is None or tuple(stack.shape[1:]) != tuple(output.shape):
                stack = output.new_empty((len(self.names[kind]), *output.shape))
                self.stacks[kind] = stack
            slot = stack[layer]
            if output.data_ptr() != slot.data_ptr():
                slot.copy_(output)
            values[name] = slot
            if layer + 1 < len(self.names[kind]):
                self.points[self.names[kind][layer + 1]].out = stack[layer + 1]

        return hook

    def release(self) -> None:
        """No softmax may write into a trace's arrays after the pass."""
        for names in self.names.values():
            for name in names:
                self.points[name].out = None
