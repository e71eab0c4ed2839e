# RUN: %python %s
# REQUIRES: torch
"""The oracle's DCN (torchvision deform_conv2d behind CenterNet's DCN module)
computes exactly the DCNv2 semantics written in DESIGN.md, checked against a
direct, loop-by-loop implementation of that text in float64:
  offset = cat(o1, o2) of chunk(conv_offset_mask(x), 3): channel 2k = dy,
  2k+1 = dx of kernel point k (row-major); mask = sigmoid(m);
  y = h*stride - pad + i*dil + dy, x = w*stride - pad + j*dil + dx, bilinear,
  zero when y <= -1, y >= H, x <= -1 or x >= W, zero corners outside."""

import math
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "python"))

import torch  # noqa: E402
import torchvision  # noqa: E402

import dla_torch  # noqa: E402

failures = []


def check(ok, what):
    print("{}: {}".format("ok" if ok else "FAIL", what))
    if not ok:
        failures.append(what)


def bilinear(img, y, x):
    H, W = len(img), len(img[0])
    if y <= -1 or y >= H or x <= -1 or x >= W:
        return 0.0
    y0, x0 = math.floor(y), math.floor(x)
    ly, lx = y - y0, x - x0

    def at(r, c):
        return img[r][c] if 0 <= r < H and 0 <= c < W else 0.0
    return ((1 - ly) * (1 - lx) * at(y0, x0) + (1 - ly) * lx * at(y0, x0 + 1) +
            ly * (1 - lx) * at(y0 + 1, x0) + ly * lx * at(y0 + 1, x0 + 1))


def reference_dcn(x, offset, mask, weight, bias, stride, pad, dil):
    N, C, H, W = x.shape
    O, _, KH, KW = weight.shape
    Ho = (H + 2 * pad - dil * (KH - 1) - 1) // stride + 1
    Wo = (W + 2 * pad - dil * (KW - 1) - 1) // stride + 1
    xs, off, m, wt = x.tolist(), offset.tolist(), mask.tolist(), weight.tolist()
    out = torch.zeros(N, O, Ho, Wo, dtype=torch.float64)
    for n in range(N):
        for h in range(Ho):
            for w in range(Wo):
                # Modulated samples of every (c, i, j), then the weighted sum.
                col = {}
                for i in range(KH):
                    for j in range(KW):
                        k = i * KW + j
                        y = h * stride - pad + i * dil + off[n][2 * k][h][w]
                        xx = w * stride - pad + j * dil + off[n][2 * k + 1][h][w]
                        for c in range(C):
                            col[c, i, j] = m[n][k][h][w] * bilinear(xs[n][c], y, xx)
                for o in range(O):
                    out[n, o, h, w] = bias[o].item() + sum(
                        wt[o][c][i][j] * v for (c, i, j), v in col.items())
    return out


g = torch.Generator().manual_seed(0)
H = W = 6
x = torch.randn(1, 3, H, W, generator=g, dtype=torch.float64)
weight = torch.randn(2, 3, 3, 3, generator=g, dtype=torch.float64)
bias = torch.randn(2, generator=g, dtype=torch.float64)

for stride, pad, dil in [(1, 1, 1), (2, 1, 1), (1, 2, 2)]:
    Ho = (H + 2 * pad - dil * 2 - 1) // stride + 1
    # Random offsets of a few pixels, plus integer offsets and points on the
    # borders: y = -1 and x = W exactly (the sample is 0 by either side of
    # the test, the bilinear weight of the inside corner being 0) and
    # y = -0.75 (only the row-0 corners contribute).
    offset = torch.randn(1, 18, Ho, Ho, generator=g, dtype=torch.float64) * 2.5
    offset[0, 0] = torch.round(offset[0, 0])
    offset[0, 2, 0, 0] = -1.0 - (0 * stride - pad + 0 * dil)   # point 1: y = -1
    offset[0, 4, 0, 0] = -0.75 - (0 * stride - pad + 0 * dil)  # point 2: y = -0.75
    offset[0, 17, -1, -1] = W - ((Ho - 1) * stride - pad + 2 * dil)  # point 8: x = W
    mask = torch.rand(1, 9, Ho, Ho, generator=g, dtype=torch.float64)
    got = torchvision.ops.deform_conv2d(x, offset, weight, bias, stride=stride,
                                        padding=pad, dilation=dil, mask=mask)
    want = reference_dcn(x, offset, mask, weight, bias, stride, pad, dil)
    err = (got - want).abs().max().item()
    check(err < 1e-12, "deform_conv2d = DESIGN.md semantics at stride {}, pad {}, "
          "dilation {} (max |diff| {:.1e})".format(stride, pad, dil, err))

# The DCN module: offset/mask come from conv_offset_mask in the chunk/cat
# layout of CenterNet's DCN, with offsets of a few pixels.
dcn = dla_torch.DCN(3, 2).double()
with torch.no_grad():
    dcn.weight.copy_(weight)
    dcn.bias.copy_(bias)
    dcn.conv_offset_mask.weight.copy_(
        torch.randn(27, 3, 3, 3, generator=g, dtype=torch.float64) * 0.6)
    dcn.conv_offset_mask.bias.copy_(torch.randn(27, generator=g, dtype=torch.float64))
    om = dcn.conv_offset_mask(x)
    offset, mask = om[:, :18], torch.sigmoid(om[:, 18:])
    got = dcn(x)
want = reference_dcn(x, offset, mask, weight, bias, 1, 1, 1)
err = (got - want).abs().max().item()
check(err < 1e-12, "DCN module: offset = channels 0..17 (2k = dy, 2k+1 = dx), "
      "mask = sigmoid(channels 18..26) (max |diff| {:.1e})".format(err))
check(offset.abs().max().item() > 1.5, "the module case moves points by > 1.5 px "
      "(max |offset| {:.2f})".format(offset.abs().max().item()))

if failures:
    print("{} check(s) failed".format(len(failures)))
    sys.exit(1)
print("all checks passed")
