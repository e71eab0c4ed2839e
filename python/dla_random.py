"""Seeded random weights for the PyTorch oracle's models (python/dla_torch.py),
calibrated so that every layer's output has a set RMS and the DCN offsets
and masks are varied, and helpers that inspect a model (parameter counts,
DCN offset statistics). Imported by dla_torch, whose names it re-exports.
"""

import math

import torch
import torch.nn as nn

import dla_torch

# --------------------------------------------------------------------------
# Random weights
# --------------------------------------------------------------------------

# Scales of the random weights (see randomize). The calibration pass gives
# every conv / transposed conv / DCN output (without bias) RMS
# ACTIVATION_RMS. DCN offsets = a per-channel constant (the conv_offset_mask
# bias, ~N(0, OFFSET_BIAS_STD) pixels) + a part that varies with the pixel
# (RMS OFFSET_VARYING_RMS pixels); mask logits likewise.
ACTIVATION_RMS = 1.0
OFFSET_BIAS_STD = 2.0
OFFSET_VARYING_RMS = 0.25
MASK_BIAS_STD = 1.0
MASK_VARYING_RMS = 0.5


def _normal(shape, std, gen):
    return torch.randn(shape, generator=gen) * std


def _uniform(shape, lo, hi, gen):
    return torch.rand(shape, generator=gen) * (hi - lo) + lo


def _offset_channels(dcn):
    return 2 * dcn.deformable_groups * dcn.kernel_size[0] * dcn.kernel_size[1]


@torch.no_grad()
def randomize(model, seed, calibration_input=None):
    """Overwrites every parameter and BN statistic with seeded random values.

    Draws (they depend only on `seed` and the module order):
    * Conv / DCN / ConvTranspose weights ~ N(0, sqrt(2 / fan_in)), fan_in =
      in/groups * (taps per output pixel): kh*kw for a conv, (kh/s)*(kw/s) = 4
      for the up-sampling ConvTranspose2d. The up-sampling kernels are random
      rather than bilinear so that a flipped kernel is detected (the bilinear
      kernel is symmetric).
    * Conv / DCN biases ~ N(0, 0.1).
    * BatchNorm: weight ~ U(0.5, 1.5), bias ~ N(0, 0.1), running_mean ~
      N(0, 0.1), running_var ~ U(0.5, 1.5), so each channel has its own affine
      map and a wrong channel order or a missing BN shows.
    * DCN conv_offset_mask: bias ~ N(0, OFFSET_BIAS_STD = 2) pixels on the
      offset rows, N(0, MASK_BIAS_STD = 1) on the mask rows; weight ~
      N(0, 1 / sqrt(fan_in)) * OFFSET_VARYING_RMS (0.25) on the offset rows,
      * MASK_VARYING_RMS (0.5) on the mask rows (for an input of RMS 1).
      So offsets are a few pixels, mostly constant per kernel point and
      direction, plus a quarter pixel that varies from pixel to pixel. Why the
      split: the bias part moves many sampling points off the map and
      between pixels (the bilinear border cases of DCNv2), at no cost in
      conditioning; the varying part catches a misplaced per-pixel offset or
      mask index, but it is what makes the network sensitive: the offsets of
      each DCN depend on the output of the previous one, and with 2-pixel
      varying offsets a 1e-7 rounding difference grows to ~3% at the heads of
      DLASeg-34 (f32 vs f64 PyTorch), which no parity check could tolerate.
      With 0.25 pixel the f32 outputs stay within ~1e-5 of f64 (relative to
      the largest output value; see test/python/make_parity_case.py).

    Calibration (when `calibration_input` is given; make_parity_case.py always
    gives its input): one forward pass in which each conv, transposed conv and
    DCN rescales its weight, by one scalar per layer, so that its output
    without the bias has RMS ACTIVATION_RMS, and returns the rescaled output
    so that the layers after it see the final values (LSUV-style). The
    offset/mask predictors are rescaled so that their varying parts have RMS
    OFFSET_VARYING_RMS and MASK_VARYING_RMS on the actual DCN inputs.
    Why: the BN statistics above are not the statistics of the activations,
    so BN does not normalise; with He init alone every residual add doubles
    the variance, and the level-5 maps reach 1e2 (dla34) to 1e13 (dla169),
    which makes a relative comparison meaningless and overflows f16. With
    calibration every activation stays O(1) and the offsets keep their
    intended size at every level.
    """
    gen = torch.Generator().manual_seed(int(seed))
    offset_convs = {id(m.conv_offset_mask) for m in model.modules()
                    if isinstance(m, dla_torch.DCN)}
    for m in model.modules():
        if id(m) in offset_convs:
            continue  # drawn with its DCN, below
        if isinstance(m, dla_torch.DCN):
            fan = m.in_channels * m.kernel_size[0] * m.kernel_size[1]
            m.weight.copy_(_normal(m.weight.shape, math.sqrt(2.0 / fan), gen))
            m.bias.copy_(_normal(m.bias.shape, 0.1, gen))
            om = m.conv_offset_mask
            n_off = _offset_channels(m)
            om.weight.copy_(_normal(om.weight.shape, 1.0 / math.sqrt(fan), gen))
            om.weight[:n_off] *= OFFSET_VARYING_RMS
            om.weight[n_off:] *= MASK_VARYING_RMS
            om.bias.copy_(_normal(om.bias.shape, 1.0, gen))
            om.bias[:n_off] *= OFFSET_BIAS_STD
            om.bias[n_off:] *= MASK_BIAS_STD
        elif isinstance(m, nn.Conv2d):
            fan = (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]
            m.weight.copy_(_normal(m.weight.shape, math.sqrt(2.0 / fan), gen))
            if m.bias is not None:
                m.bias.copy_(_normal(m.bias.shape, 0.1, gen))
        elif isinstance(m, nn.ConvTranspose2d):
            taps = max(1, (m.kernel_size[0] // m.stride[0]) *
                       (m.kernel_size[1] // m.stride[1]))
            fan = (m.in_channels // m.groups) * taps
            m.weight.copy_(_normal(m.weight.shape, math.sqrt(2.0 / fan), gen))
            if m.bias is not None:
                m.bias.copy_(_normal(m.bias.shape, 0.1, gen))
        elif isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            m.weight.copy_(_uniform(c, 0.5, 1.5, gen))
            m.bias.copy_(_normal(c, 0.1, gen))
            m.running_mean.copy_(_normal(c, 0.1, gen))
            m.running_var.copy_(_uniform(c, 0.5, 1.5, gen))
    if calibration_input is not None:
        calibrate(model, calibration_input)
    return model


def _rescale(module, out, rows_and_targets):
    """Scales module.weight's output-channel ranges so that the pre-bias
    output `out` has the target RMS on each range; returns the new output.
    Relies on every calibrated op being linear in its weight."""
    bias = getattr(module, "bias", None)
    core = out - bias.view(1, -1, 1, 1) if bias is not None else out.clone()
    for rows, target in rows_and_targets:
        rms = core[:, rows].pow(2).mean().sqrt().item()
        if not math.isfinite(rms) or rms < 1e-30:
            continue  # nothing to scale (e.g. an all-zero input)
        s = target / rms
        # ConvTranspose2d's weight is [in, out/groups, kh, kw]; with
        # groups == in == out (the only use here) dim 0 is the channel too.
        module.weight[rows] *= s
        core[:, rows] *= s
    return core + bias.view(1, -1, 1, 1) if bias is not None else core


@torch.no_grad()
def calibrate(model, x):
    """The calibration pass of randomize() on input `x` (see there)."""
    offset_convs = {}
    for m in model.modules():
        if isinstance(m, dla_torch.DCN):
            offset_convs[id(m.conv_offset_mask)] = _offset_channels(m)

    def hook(module, inputs, out):
        c = out.shape[1]
        if id(module) in offset_convs:
            n_off = offset_convs[id(module)]
            return _rescale(module, out, [(slice(0, n_off), OFFSET_VARYING_RMS),
                                          (slice(n_off, c), MASK_VARYING_RMS)])
        if isinstance(module, nn.ConvTranspose2d) and not (
                module.groups == module.in_channels == module.out_channels):
            raise NotImplementedError("calibration of a non-depthwise "
                                      "ConvTranspose2d")
        return _rescale(module, out, [(slice(0, c), ACTIVATION_RMS)])

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, dla_torch.DCN))]
    try:
        model(x)
    finally:
        for h in handles:
            h.remove()


# --------------------------------------------------------------------------
# Introspection helpers used by the tests and scripts
# --------------------------------------------------------------------------

def count_parameters(model):
    """Parameter values including BN running statistics (not
    num_batches_tracked), as the reference README counts them."""
    return sum(t.numel() for k, t in model.state_dict().items()
               if not k.endswith("num_batches_tracked"))


def dcn_modules(model):
    return [(n, m) for n, m in model.named_modules() if isinstance(m, dla_torch.DCN)]


@torch.no_grad()
def dcn_offset_stats(model, x):
    """Per DCN on input `x`: (name, offset std, fraction of sampling points
    outside the input map, mask mean, mean over offset channels of their
    spatial std, i.e. the part that varies from pixel to pixel). Used to check
    the randomization."""
    stats = []

    def hook(dcn, args):
        inp = args[0]
        offset, mask = dcn.offset_mask(inp)
        n, _, h, w = offset.shape
        k = dcn.kernel_size[0]
        off = offset.view(n, k * k, 2, h, w)
        ky = torch.arange(k).repeat_interleave(k).view(1, k * k, 1, 1).float()
        kx = torch.arange(k).repeat(k).view(1, k * k, 1, 1).float()
        ys = torch.arange(h).view(1, 1, h, 1).float() * dcn.stride - dcn.padding
        xs = torch.arange(w).view(1, 1, 1, w).float() * dcn.stride - dcn.padding
        y = ys + ky * dcn.dilation + off[:, :, 0]
        x_ = xs + kx * dcn.dilation + off[:, :, 1]
        H, W = inp.shape[2], inp.shape[3]
        outside = ((y <= -1) | (y >= H) | (x_ <= -1) | (x_ >= W)).float().mean()
        varying = offset.flatten(2).std(dim=2).mean()
        stats.append((names[dcn], offset.std().item(), outside.item(),
                      mask.mean().item(), varying.item()))

    names = {m: n for n, m in model.named_modules()}
    handles = [m.register_forward_pre_hook(hook)
               for m in model.modules() if isinstance(m, dla_torch.DCN)]
    try:
        model(x)
    finally:
        for h in handles:
            h.remove()
    return stats
