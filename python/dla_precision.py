"""The PyTorch oracle at a reduced precision: dlac's rounding points.

    model16 = dla_precision.rounded_model(model, "f16")
    outputs = model16(x)          # float32 arithmetic, rounded where dlac rounds

dlac's reduced-precision modes (docs/precision.md) store tensors in f16 or
bf16, or as tf32 values in f32 words, and compute in f32. This module gives
a float32 copy of an oracle model (python/dla_torch.py) the same rounding
points, so that its error against the float64 truth is the yardstick for
dlac's error in that mode (scripts/compare_outputs.py --baseline):

* every BatchNorm is folded into the convolution before it, in float32
  (scale = gamma / sqrt(var + eps); w' = w * scale; b' = (b - mean) * scale
  + beta), and replaced by the identity;
* every parameter the network then reads (folded weights and biases, the
  DCN's offset/mask conv, the heads, the upsampling weights) is rounded once
  to the storage type;
* the output of every ReLU (each conv block, Root, DeformConv, head hidden
  layer) and of every average pool is rounded to the storage type: those are
  the tensors dlac keeps in memory. The DCN's offsets, mask and samples, the
  upsampled and summed IDAUp inputs and the model's outputs stay float32.

It is written from the documented rules, not from dlac's IR: where a target
fuses more (the host build computes the Tree's projection and the wh/reg
heads' hidden layer inside the conv that reads them, without storing them),
the oracle rounds a few tensors more than dlac does, which can only make its
error larger.
"""

import copy

import torch
from torch import nn

import dla_torch

def round_to_tf32(t):
    """float32 `t` rounded to tf32's 10 mantissa bits, to nearest with ties
    away from zero (PTX's cvt.rna.tf32.f32): half of tf32's last place is
    added to the magnitude bits, then the 13 bits below it are cleared. NaN
    stays NaN."""
    if t.dtype != torch.float32:
        raise TypeError("round_to_tf32: expected float32, got {}".format(t.dtype))
    bits = t.contiguous().view(torch.int32)
    rounded = ((bits + 0x1000) & -0x2000).view(torch.float32)
    return torch.where(torch.isnan(t), t, rounded)


def _narrow(dtype):
    return lambda t: t.to(dtype).to(t.dtype)


# Each precision's rounding of a float32 tensor to its storage type's values.
ROUNDING = {
    "f16": _narrow(torch.float16),   # to nearest even
    "bf16": _narrow(torch.bfloat16),  # to nearest even
    "tf32": round_to_tf32,           # to nearest, ties away
}


def round_to(t, precision):
    """`t` rounded to `precision`'s storage values, as float32."""
    return ROUNDING[precision](t)


def _conv_bn_pairs(model):
    """(parent, bn_name, conv) for every BatchNorm2d and the convolution it
    normalises: the conv child registered before it in the same module, or,
    for a DeformConv, its DCN (`conv`) for `actf.0`."""
    deform_actf = {id(m.actf) for m in model.modules()
                   if isinstance(m, dla_torch.DeformConv)}
    pairs = []
    for parent in model.modules():
        if isinstance(parent, dla_torch.DeformConv):
            pairs.append((parent.actf, "0", parent.conv))
            continue
        if id(parent) in deform_actf:
            continue
        last = None
        for name, child in parent.named_children():
            if isinstance(child, (nn.Conv2d, dla_torch.DCN)):
                last = child
            elif isinstance(child, nn.BatchNorm2d):
                if last is None:
                    raise ValueError("BatchNorm {} follows no convolution".format(name))
                pairs.append((parent, name, last))
                last = None
    return pairs


def rounded_model(model, precision):
    """A float32 copy of `model` that rounds where dlac's `precision` mode
    does (see the module docstring)."""
    if precision not in ROUNDING:
        raise ValueError("precision: expected one of {}, got {!r}".format(
            ", ".join(sorted(ROUNDING)), precision))
    m = copy.deepcopy(model).float().eval()
    with torch.no_grad():
        for parent, bn_name, conv in _conv_bn_pairs(m):
            bn = getattr(parent, bn_name)
            scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            bias = conv.bias if conv.bias is not None else torch.zeros_like(scale)
            conv.weight.copy_(conv.weight * scale.view(-1, 1, 1, 1))
            new_bias = (bias - bn.running_mean) * scale + bn.bias
            if conv.bias is None:
                conv.bias = nn.Parameter(new_bias.clone())
            else:
                conv.bias.copy_(new_bias)
            setattr(parent, bn_name, nn.Identity())
        for p in m.parameters():
            p.copy_(round_to(p, precision))

    def store(_module, _inputs, output):
        return round_to(output, precision)

    for mod in m.modules():
        if isinstance(mod, (nn.ReLU, nn.AvgPool2d)):
            mod.register_forward_hook(store)
    return m
