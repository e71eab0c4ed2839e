#!/usr/bin/python3
"""Checks model outputs against the float64 truth of a parity case.

    compare_outputs.py --case DIR ACTUAL [ACTUAL ...] [--factor 4]
    compare_outputs.py --truth T.safetensors --baseline B.safetensors ACTUAL ...
                       [--min-ratio R]
    compare_outputs.py --identical A B

A parity case (scripts/make_parity_case.py) holds the outputs of PyTorch in
float64 (`truth.safetensors`, the truth) and in float32
(`expected.safetensors`, the baseline) for the same network, weights and
input. For every output tensor, with errors measured as max |x - truth|:

    err(ACTUAL) <= factor * max(err(baseline), floor)
    floor = 2^-20 * max |truth|   (8 float32 ulps at the largest value)

i.e. an implementation passes when it is at most `factor` times as far from
the truth as PyTorch's own float32 result; the floor stands in where
PyTorch happens to be (almost) exact. One line per tensor gives both errors,
their ratio and the bound, so a failure says how far off it is and against
what. Exit status 1 if any tensor fails, is missing, has another shape, or
holds NaN/Inf where the truth does not; 2 on a usage or file error.

A reduced-precision mode is checked against the oracle rounding as that mode
does (`--baseline CASE/expected-f16.safetensors`, make_parity_case.py
--precision): the baseline's metadata names its precision, and lines say
"torch f16". `--min-ratio R` also requires err(ACTUAL) >= R * err(baseline):
an implementation that does not round at all (f32 all the way) is orders of
magnitude more exact than the rounding oracle and fails it.

--identical checks that two output files hold the same tensors bit for bit
(for results that must not depend on the thread count).

docs/testing.md explains the rule and the factor.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))

import torch  # noqa: E402

from dla_safetensors import load_file, load_metadata  # noqa: E402

DEFAULT_FACTOR = 4.0
FLOOR = 2.0 ** -20  # relative to max |truth|


def max_err(x, truth):
    return (x.double() - truth).abs().max().item() if truth.numel() else 0.0


def measure(actual, truth, baseline, factor=DEFAULT_FACTOR, min_ratio=0.0):
    """One dict per output tensor of `truth`: name, shape, ok, and either
    `problem` (missing, shape, non-finite) or err, base (PyTorch's error in
    the precision under test), floor, scale (max |truth|), ratio
    (err / max(base, floor)) and bound (factor * max(base, floor))."""
    rows = []
    for name, want in truth.items():
        row = {"name": name, "shape": list(want.shape), "ok": False}
        rows.append(row)
        got = actual.get(name)
        if got is None:
            row["problem"] = "MISSING"
            continue
        if tuple(got.shape) != tuple(want.shape):
            row["problem"] = f"shape {list(got.shape)}"
            continue
        got = got.double()
        if torch.isfinite(want).all() and not torch.isfinite(got).all():
            bad = (~torch.isfinite(got)).sum().item()
            row["problem"] = f"{bad} non-finite values, the truth has none"
            continue
        scale = want.abs().max().item() if want.numel() else 0.0
        floor = FLOOR * scale
        base = max_err(baseline[name], want)
        err = max_err(got, want)
        ref = max(base, floor)
        ratio = err / ref if ref > 0 else (0.0 if err == 0 else float("inf"))
        row.update(err=err, base=base, floor=floor, scale=scale, ratio=ratio,
                   bound=factor * ref,
                   ok=err <= factor * ref and err >= min_ratio * base)
    return rows


def check_against_truth(path, actual, truth, baseline, factor, precision="f32",
                        min_ratio=0.0):
    """Prints one line per tensor; returns the number of failures and the
    largest ratio err / max(err_baseline, floor)."""
    failures, worst = 0, 0.0
    label = os.path.basename(path)
    for r in measure(actual, truth, baseline, factor, min_ratio):
        head = f"{label} {r['name']} {r['shape']}"
        failures += not r["ok"]
        if "problem" in r:
            print(f"{head}: MISMATCH: {r['problem']}")
            continue
        worst = max(worst, r["ratio"])
        used = "floor" if r["floor"] > r["base"] else f"torch {precision}"
        low = (f", at least {min_ratio:g}x torch {precision} = {min_ratio * r['base']:.2e}"
               if min_ratio else "")
        print(f"{head}: err {r['err']:.2e} = {r['ratio']:.2f}x {used} "
              f"(torch {precision} {r['base']:.2e}, floor {r['floor']:.2e}, "
              f"max|truth| {r['scale']:.2e}); bound {factor:g}x = {r['bound']:.2e}{low} "
              f"{'ok' if r['ok'] else 'MISMATCH'}")
    extra = sorted(set(actual) - set(truth))
    if extra:
        print(f"note: {path} has outputs not in the truth: {', '.join(extra)}")
    return failures, worst


def identical(a_path, b_path):
    a, b = load_file(a_path), load_file(b_path)
    failures = 0
    for name in sorted(set(a) | set(b)):
        if name not in a or name not in b:
            print(f"{name}: only in {a_path if name in a else b_path}")
            failures += 1
            continue
        x, y = a[name], b[name]
        same = (x.dtype == y.dtype and x.shape == y.shape and
                x.contiguous().view(-1).view(torch.uint8).equal(
                    y.contiguous().view(-1).view(torch.uint8)))
        if not same:
            diff = ((x.double() - y.double()).abs().max().item()
                    if x.shape == y.shape else float("nan"))
            print(f"{name}: DIFFERENT (max |diff| {diff:.3e})")
            failures += 1
        else:
            print(f"{name}: {list(x.shape)} identical")
    return failures


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("actual", nargs="+", help="output safetensors files to check")
    p.add_argument("--case", help="parity case directory (truth.safetensors, expected.safetensors)")
    p.add_argument("--truth", help="float64 outputs (default CASE/truth.safetensors)")
    p.add_argument("--baseline",
                   help="PyTorch outputs in the precision under test "
                        "(default CASE/expected.safetensors)")
    p.add_argument("--factor", type=float, default=DEFAULT_FACTOR,
                   help="allowed multiple of the baseline's error (default %(default)g)")
    p.add_argument("--min-ratio", type=float, default=0.0,
                   help="each error must also be at least this multiple of the "
                        "baseline's (a reduced precision really rounds; default 0)")
    p.add_argument("--identical", action="store_true",
                   help="the two files given must be bit-identical")
    args = p.parse_args(argv)
    try:
        if args.identical:
            if len(args.actual) != 2 or args.case or args.truth or args.baseline:
                p.error("--identical takes exactly two files and no case")
            n = identical(*args.actual)
            print("identical" if n == 0 else f"{n} tensor(s) differ")
            return 1 if n else 0
        truth_path = args.truth or (args.case and os.path.join(args.case, "truth.safetensors"))
        base_path = args.baseline or (args.case and os.path.join(args.case, "expected.safetensors"))
        if not truth_path or not base_path:
            p.error("give --case DIR, or --truth and --baseline")
        if not (args.factor >= 1):
            p.error(f"--factor: expected a number >= 1, got {args.factor}")
        truth = {k: v.double() for k, v in load_file(truth_path).items()}
        baseline = load_file(base_path)
        precision = (load_metadata(base_path) or {}).get("precision", "f32")
        if not (0 <= args.min_ratio <= 1):
            p.error(f"--min-ratio: expected a number in [0, 1], got {args.min_ratio}")
        missing = sorted(set(truth) - set(baseline))
        if missing:
            print(f"compare_outputs: error: {base_path} lacks {', '.join(missing)} "
                  f"of {truth_path}", file=sys.stderr)
            return 2
        actuals = [(path, load_file(path)) for path in args.actual]
    except (OSError, ValueError) as e:
        print(f"compare_outputs: error: {e}", file=sys.stderr)
        return 2
    failures, worst = 0, 0.0
    for path, actual in actuals:
        f, w = check_against_truth(path, actual, truth, baseline, args.factor, precision,
                                   args.min_ratio)
        failures += f
        worst = max(worst, w)
    print(f"{'ok' if failures == 0 else 'FAILED'}: {len(actuals)} file(s), worst {worst:.2f}x "
          f"of max(torch {precision} error, floor), bound {args.factor:g}x"
          + ("" if failures == 0 else f"; {failures} tensor(s) out of bounds"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
