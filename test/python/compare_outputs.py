# RUN: %python %s
# REQUIRES: torch
"""scripts/compare_outputs.py, the suite's one tolerance rule: an output
passes when its error against the float64 truth is at most 4x PyTorch
float32's own error (or the floor of 8 float32 ulps at the largest value);
it fails on larger errors, NaN, missing tensors and wrong shapes; --identical
asks for bit identity. Synthetic files, so that every verdict is known."""

import contextlib
import importlib.util
import io
import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "python"))
SCRIPT = os.path.join(ROOT, "scripts", "compare_outputs.py")

import torch  # noqa: E402

from dla_safetensors import save_file  # noqa: E402

_spec = importlib.util.spec_from_file_location("compare_outputs_script", SCRIPT)
script = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(script)

failures = []


def check(ok, what):
    print("{}: {}".format("ok" if ok else "FAIL", what))
    if not ok:
        failures.append(what)


def run(*argv):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
        try:
            rc = script.main(list(argv))
        except SystemExit as e:  # argparse usage errors
            rc = e.code
    return rc, buf.getvalue()


with tempfile.TemporaryDirectory() as tmp:
    g = torch.Generator().manual_seed(1)
    truth = {"a": torch.randn(2, 3, 4, 4, generator=g, dtype=torch.float64),
             "b": torch.randn(1, 5, generator=g, dtype=torch.float64)}
    # PyTorch float32: errors of 1e-5 on `a`; `b` exact (the floor applies).
    base = {"a": (truth["a"] + 1e-5).float(), "b": truth["b"].float()}
    save_file(truth, os.path.join(tmp, "truth.safetensors"))
    save_file(base, os.path.join(tmp, "expected.safetensors"))
    floor_b = 2.0 ** -20 * truth["b"].abs().max().item()

    def write(name, a_err, b_err=0.0, **extra):
        t = {"a": (truth["a"] + a_err).float(), "b": (truth["b"] + b_err).float()}
        t.update(extra)
        path = os.path.join(tmp, name + ".safetensors")
        save_file(t, path)
        return path

    # Within bounds: 3x torch's error on a, 3x the floor on b.
    good = write("good", 3e-5, 3 * floor_b)
    rc, out = run("--case", tmp, good)
    check(rc == 0 and "ok: 1 file(s)" in out, "3x PyTorch's error passes: " + out.splitlines()[-1])
    check("x torch f32 (torch f32 1.0" in out or "x torch f32 (torch f32 9.9" in out, "the line names PyTorch's own error")
    check(" b [1, 5]: " in out and "x floor" in out, "b is measured against the floor")

    # Out of bounds: 5x torch's error on a.
    bad = write("bad", 5e-5)
    rc, out = run("--case", tmp, bad)
    check(rc == 1 and "a [2, 3, 4, 4]: err 5.0" in out and "MISMATCH" in out,
          "5x PyTorch's error fails, naming the tensor: " + out.splitlines()[0])

    # 5x the floor where PyTorch is exact fails too.
    badb = write("badb", 0.0, 5 * floor_b)
    rc, out = run("--case", tmp, badb)
    check(rc == 1 and " b [1, 5]" in out and "MISMATCH" in out, "5x the floor fails")

    # One good and one bad file: the run fails, each is reported.
    rc, out = run("--case", tmp, good, bad)
    check(rc == 1 and "good.safetensors a" in out and "bad.safetensors a" in out,
          "several files in one call, each reported")

    # NaN, a missing tensor, a wrong shape.
    a_nan = truth["a"].float().clone()
    a_nan[0, 0, 0, 0] = float("nan")
    nan = os.path.join(tmp, "nan.safetensors")
    save_file({"a": a_nan, "b": truth["b"].float()}, nan)
    rc, out = run("--case", tmp, nan)
    check(rc == 1 and "1 non-finite values" in out, "NaN where the truth is finite fails")
    missing = os.path.join(tmp, "missing.safetensors")
    save_file({"a": truth["a"].float()}, missing)
    rc, out = run("--case", tmp, missing)
    check(rc == 1 and "b [1, 5]: MISMATCH: MISSING" in out, "a missing output fails")
    shape = os.path.join(tmp, "shape.safetensors")
    save_file({"a": truth["a"].float().reshape(6, 16), "b": truth["b"].float()}, shape)
    rc, out = run("--case", tmp, shape)
    check(rc == 1 and "shape [6, 16]" in out, "a wrong shape fails")

    # A larger factor lets the 5x file pass; factors below 1 are refused.
    rc, out = run("--case", tmp, bad, "--factor", "6")
    check(rc == 0, "--factor 6 accepts 5x")
    rc, out = run("--case", tmp, good, "--factor", "0.5")
    check(rc == 2 and "--factor" in out, "--factor below 1 is a usage error")
    rc, out = run(good)
    check(rc == 2 and "--case" in out, "no truth given is a usage error")
    rc, out = run("--case", os.path.join(tmp, "nowhere"), good)
    check(rc == 2 and "error" in out, "a missing case directory is an error")

    # --identical: bit identity, not closeness.
    same = write("same", 3e-5, 3 * floor_b)
    rc, out = run("--identical", good, same)
    check(rc == 0 and "identical" in out, "--identical accepts the same bits")
    near = write("near", 3e-5 + 1e-6, 3 * floor_b)
    rc, out = run("--identical", good, near)
    check(rc == 1 and "a: DIFFERENT" in out, "--identical refuses a 1e-6 difference")
    rc, out = run("--identical", good, missing)
    check(rc == 1 and "b: only in" in out, "--identical refuses a missing tensor")

if failures:
    print("{} check(s) failed".format(len(failures)))
    sys.exit(1)
print("all checks passed")
