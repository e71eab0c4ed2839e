# REQUIRES: torch
# An ASan build's libdlart cannot be loaded into the uninstrumented Python
# (scripts/sanitize.sh); the C API it wraps is checked there through dla-run.
# UNSUPPORTED: sanitizers
# RUN: rm -rf %t && mkdir -p %t
# RUN: %python %dla_src/test/Runtime/Inputs/make_toy_bundle.py %t > /dev/null
# RUN: cc -shared -fPIC -O1 %dla_src/test/Runtime/Inputs/toy_kernels.c -o %t/toy.dlab/kernels.so
# RUN: dlac %dla_src/test/Numerics/Inputs/tiny.json --emit=params -o %t/params.txt
# RUN: %python %dla_src/test/Numerics/Inputs/nonfinite.py %t/params.txt %t
# RUN: dlac %dla_src/test/Numerics/Inputs/tiny.json --target host -o %t/tiny.dlab
# RUN: dla-run %t/tiny.dlab --weights %t/good.safetensors --input %t/input.safetensors --output %t/tiny-cli.safetensors > /dev/null
# RUN: env DLART_LIBRARY=%libdlart %python %s %t
"""The Python runtime (python/dlart, ctypes over libdlart): a hand-made toy
bundle whose outputs are known exactly (y = 2 x + bias - 1), then a dlac
bundle whose outputs must equal dla-run's bit for bit; inputs of the wrong
shape, dtype or number refused before anything runs; runtime errors raised
as dlart.Error with the runtime's message; outputs independent arrays;
benchmark figures."""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "python"))

import numpy as np  # noqa: E402

import dlart  # noqa: E402
from dla_safetensors import load_file  # noqa: E402

work = sys.argv[1]
failures = []


def check(ok, what):
    print("{}: {}".format("ok" if ok else "FAIL", what))
    if not ok:
        failures.append(what)


def raises(fn, text, status=None):
    try:
        fn()
    except dlart.Error as e:
        return text in str(e) and (status is None or e.status == status), str(e)
    return False, "no error"


check(os.path.samefile(dlart.library_path(), os.environ["DLART_LIBRARY"]),
      "DLART_LIBRARY chooses the library")

toy = os.path.join(work, "toy.dlab")
m = dlart.Model(toy, weights=os.path.join(work, "w.safetensors"), threads=2)
check(m.inputs == [("x", (1, 2, 4, 4), "float32")] and m.inputs[0].name == "x",
      "inputs: {}".format(m.inputs))
check(m.outputs == [("y", (1, 2, 4, 4), "float32")], "outputs: {}".format(m.outputs))
check(m.name == "toy" and m.device_info.startswith("host, 2 threads"),
      "name and device: {}, {}".format(m.name, m.device_info))
x = (np.arange(32, dtype=np.float32) / 8 - 2).reshape(1, 2, 4, 4)
bias = np.array([0.5, -3.0], np.float32).reshape(1, 2, 1, 1)
want = 2 * x + bias - 1
out = m(x)
check(list(out) == ["y"] and np.array_equal(out["y"], want), "y = 2 x + bias - 1 exactly")
check(np.array_equal(m({"x": x})["y"], want) and np.array_equal(m(x=x)["y"], want),
      "inputs by name, as a dict or keywords")
again = m(x + 1)
check(np.array_equal(out["y"], want) and np.array_equal(again["y"], want + 2),
      "outputs are independent arrays: a later call leaves earlier ones alone")
xt = np.asfortranarray(x)
check(np.array_equal(m(xt)["y"], want), "non-contiguous input arrays are accepted")

for fn, text, what in [
        (lambda: m(x.astype(np.float64)), "input 'x': expected dtype float32, got float64",
         "a float64 input"),
        (lambda: m(x[:, :1]), "input 'x': expected shape [1, 2, 4, 4], got [1, 1, 4, 4]",
         "a wrong shape"),
        (lambda: m(x, x), "expected 1 input(s) ('x'), got 2", "too many inputs"),
        (lambda: m(z=x), "inputs: unknown 'z'; missing 'x'", "a wrong name"),
        (lambda: m([1.0]), "input 'x': expected a numpy array, got list", "a list"),
        (lambda: dlart.Model(toy, weights=os.path.join(work, "w_nan.safetensors")),
         "tensor 'bias' holds NaN at element 1", "NaN weights (the runtime's message)"),
        (lambda: dlart.Model(os.path.join(work, "nothing.dlab")), "not a bundle directory",
         "a missing bundle"),
        (lambda: dlart.Model(toy, device="tpu"), "device: expected one of 'host', 'cuda'",
         "an unknown device"),
        (lambda: dlart.Model(toy, threads=0), "threads: expected an integer from 1 to 4096",
         "zero threads")]:
    ok, msg = raises(fn, text)
    check(ok, "{} is refused: {}".format(what, msg))
ok, msg = raises(lambda: dlart.Model(toy, weights=os.path.join(work, "x.safetensors")),
                 "1 parameter missing: 'bias'", "weights")
check(ok, "a checkpoint without the parameter: status 'weights': " + msg)

b = m.benchmark(iterations=5, warmup=1)
check(b["iterations"] == 5 and 0 < b["min_ms"] <= b["median_ms"] <= b["max_ms"] and
      b["images_per_s"] > 0, "benchmark figures: {}".format(
          {k: (round(v, 3) if isinstance(v, float) else v) for k, v in b.items()}))
m.close()
ok, msg = raises(lambda: m(x), "the model is closed", "state")
check(ok, "a closed model refuses calls: " + msg)

# A dlac bundle: the same bits as dla-run on the same weights and input.
with dlart.Model(os.path.join(work, "tiny.dlab"),
                 weights=os.path.join(work, "good.safetensors")) as t:
    image = load_file(os.path.join(work, "input.safetensors"))["input"].numpy()
    got = t(image)
    cli = {k: v.numpy() for k, v in load_file(os.path.join(work, "tiny-cli.safetensors")).items()}
    check(sorted(got) == sorted(cli) and all(np.array_equal(got[k], cli[k]) for k in cli),
          "tiny.json: {} outputs identical to dla-run's".format(len(cli)))

if failures:
    print("{} check(s) failed".format(len(failures)))
    sys.exit(1)
print("all checks passed")
