#!/usr/bin/env python3
"""Compares two safetensors files of model outputs, tensor by tensor.

    compare_outputs.py ACTUAL EXPECTED [--rel 1e-4]

A tensor agrees when max|actual - expected| <= rel * max(1, max|expected|).
Prints one line per tensor (max abs error, bound, verdict) and exits 1 if any
tensor disagrees, is missing, has another shape or holds NaN/Inf where the
expected one does not.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))

import torch  # noqa: E402

from dla_safetensors import load_file  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("actual")
    parser.add_argument("expected")
    parser.add_argument("--rel", type=float, default=1e-4,
                        help="tolerance relative to max(1, max|expected|)")
    args = parser.parse_args()
    actual = load_file(args.actual)
    expected = load_file(args.expected)
    ok = True
    for name, want in expected.items():
        got = actual.get(name)
        if got is None:
            print(f"{name}: MISSING from {args.actual}")
            ok = False
            continue
        if tuple(got.shape) != tuple(want.shape):
            print(f"{name}: shape {list(got.shape)} != expected {list(want.shape)}")
            ok = False
            continue
        got, want = got.double(), want.double()
        if not torch.isfinite(got).all() and torch.isfinite(want).all():
            print(f"{name}: non-finite values")
            ok = False
            continue
        err = (got - want).abs().max().item() if want.numel() else 0.0
        bound = args.rel * max(1.0, want.abs().max().item() if want.numel() else 0.0)
        verdict = "ok" if err <= bound else "MISMATCH"
        ok &= err <= bound
        print(f"{name}: {list(want.shape)} max|err| {err:.3e} bound {bound:.3e} {verdict}")
    extra = sorted(set(actual) - set(expected))
    if extra:
        print(f"note: {args.actual} has outputs not in {args.expected}: {', '.join(extra)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
