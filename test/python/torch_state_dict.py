# RUN: %python %s
# REQUIRES: torch
"""The PyTorch oracle builds CenterNet's DLASeg-34 ctdet exactly: state-dict
keys, order and shapes equal CenterNet's listing in test/reference/, and the
counts of test/reference/README.md (parameters, layers, MACs at 64x64) hold."""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "python"))
REFERENCE = os.path.join(ROOT, "test", "reference", "dlaseg34_ctdet_state_dict.txt")

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

import dla_torch  # noqa: E402

SPEC = {
    "name": "ctdet_dla34",
    "input": {"shape": [1, 3, 512, 512]},
    "precision": "f32",
    "backbone": {"preset": "dla34"},
    "neck": {"down_ratio": 4, "last_level": 5, "out_channel": 0},
    "heads": {"head_conv": 256, "final_kernel": 1,
              "outputs": {"hm": 80, "wh": 2, "reg": 2}},
}

failures = []


def check(ok, what):
    print("{}: {}".format("ok" if ok else "FAIL", what))
    if not ok:
        failures.append(what)


if not os.path.isfile(REFERENCE):
    print("FAIL: reference listing not found at {}".format(os.path.normpath(REFERENCE)))
    sys.exit(1)

reference = []
with open(REFERENCE) as f:
    for line in f:
        if line.strip():
            key, shape = line.rstrip("\n").split(" ", 1)
            reference.append((key, [int(d) for d in shape.strip("[]").split(",") if d.strip()]))

model, names = dla_torch.build_model(SPEC)
sd = model.state_dict()
mine = [(k, list(v.shape)) for k, v in sd.items()]

check(len(reference) == 398, "reference lists 398 entries (got {})".format(len(reference)))
check(len(mine) == len(reference),
      "state dict has {} entries, reference {}".format(len(mine), len(reference)))
ref_keys, my_keys = [k for k, _ in reference], [k for k, _ in mine]
missing = sorted(set(ref_keys) - set(my_keys))
extra = sorted(set(my_keys) - set(ref_keys))
check(not missing, "no reference key missing{}".format(": " + ", ".join(missing[:5]) if missing else ""))
check(not extra, "no extra key{}".format(": " + ", ".join(extra[:5]) if extra else ""))
mine_shapes = dict(mine)
wrong = [(k, s, mine_shapes[k]) for k, s in reference
         if k in mine_shapes and mine_shapes[k] != s]
check(not wrong, "every shape equals the reference{}".format(
    ": " + "; ".join("{} {} vs {}".format(*w) for w in wrong[:5]) if wrong else ""))
check(my_keys == ref_keys, "keys are in the reference (module) order")
check(names == ["hm", "wh", "reg"], "outputs are named hm, wh, reg (got {})".format(names))

n_values = dla_torch.count_parameters(model)
check(n_values == 19_695_476,
      "19,695,476 parameter values incl. BN running stats (got {:,})".format(n_values))
counts = {}
for m in model.modules():
    counts[type(m).__name__] = counts.get(type(m).__name__, 0) + 1
check(len(dla_torch.dcn_modules(model)) == 16, "16 DCN layers (got {})".format(counts.get("DCN")))
check(counts.get("ConvTranspose2d") == 8, "8 ConvTranspose2d (got {})".format(counts.get("ConvTranspose2d")))
check(counts.get("BatchNorm2d") == 55, "55 BatchNorm2d (got {})".format(counts.get("BatchNorm2d")))
check(counts.get("Conv2d") == 61, "61 Conv2d incl. offset/mask convs (got {})".format(counts.get("Conv2d")))

# Multiply-accumulates as PyTorch executes them (dead `project` convs
# included), at 64x64 to stay fast; the README gives 517,183,488.
macs = [0]


def count_macs(mod, inputs, out):
    if isinstance(mod, nn.Conv2d):
        k = mod.kernel_size[0] * mod.kernel_size[1]
        macs[0] += out.numel() * (mod.in_channels // mod.groups) * k
    elif isinstance(mod, nn.ConvTranspose2d):
        k = mod.kernel_size[0] * mod.kernel_size[1]
        macs[0] += inputs[0].numel() * (mod.out_channels // mod.groups) * k
    elif isinstance(mod, dla_torch.DCN):
        k = mod.kernel_size[0] * mod.kernel_size[1]
        macs[0] += out.numel() * mod.in_channels * k


handles = [m.register_forward_hook(count_macs) for m in model.modules()]
with torch.no_grad():
    out = model(torch.zeros(1, 3, 64, 64))
for h in handles:
    h.remove()
check(macs[0] == 517_183_488, "517,183,488 MACs at 1x3x64x64 (got {:,})".format(macs[0]))
check({k: list(v.shape) for k, v in out.items()} ==
      {"hm": [1, 80, 16, 16], "wh": [1, 2, 16, 16], "reg": [1, 2, 16, 16]},
      "output shapes at 64x64 are [1, C, 16, 16]")

if failures:
    print("{} check(s) failed".format(len(failures)))
    sys.exit(1)
print("all checks passed")
