# REQUIRES: numpy
# An ASan build's libdlart cannot be loaded into the uninstrumented Python
# (scripts/sanitize.sh); test/unit/ContextTest.cpp checks contexts there.
# UNSUPPORTED: sanitizers
# RUN: rm -rf %t && mkdir -p %t
# RUN: dlac %dla_src/test/Numerics/Inputs/tiny.json --target host -o %t/tiny.dlab
# RUN: dlac %dla_src/test/Numerics/Inputs/tiny.json --emit=params -o %t/params.txt
# RUN: %python %dla_src/test/python/Inputs/random_weights.py %t/params.txt %t/w.safetensors
# RUN: env DLART_LIBRARY=%libdlart %python %s %t
"""Execution contexts from Python (dlart.Model.context): 4 threads, each with
its own context of one loaded tiny.json model, 50 runs each on inputs of
their own, every output bit-identical to the single-threaded run of the same
input through the model; the model's own calls meanwhile; contexts refuse
what the model refuses and are closed like it."""

import os
import sys
import threading

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "python"))

import numpy as np  # noqa: E402

import dlart  # noqa: E402

work = sys.argv[1]
failures = []


def check(ok, what):
    print("{}: {}".format("ok" if ok else "FAIL", what))
    if not ok:
        failures.append(what)


def same_bits(a, b):
    return sorted(a) == sorted(b) and all(
        a[k].shape == b[k].shape and np.array_equal(a[k].view(np.uint32), b[k].view(np.uint32))
        for k in a)


THREADS, RUNS = 4, 50
m = dlart.Model(os.path.join(work, "tiny.dlab"), weights=os.path.join(work, "w.safetensors"),
                threads=1)
shape = m.inputs[0].shape
rng = np.random.default_rng(7)
images = [rng.uniform(-1, 1, shape).astype(np.float32) for _ in range(THREADS * RUNS)]
want = [m(x) for x in images]
check(all(not np.array_equal(want[0][k], want[1][k]) for k in want[0]),
      "different inputs give different outputs (the comparison below means something)")

contexts = [m.context(threads=2) for _ in range(THREADS)]
check(contexts[0].inputs == m.inputs and contexts[0].outputs == m.outputs,
      "a context has the model's inputs and outputs")
check(contexts[0].device_info.startswith("host, 2 threads"),
      "a context's own thread count: " + contexts[0].device_info)
got = [[None] * RUNS for _ in range(THREADS)]
errors = []
start = threading.Barrier(THREADS + 1)


def worker(t):
    try:
        start.wait()
        for r in range(RUNS):
            got[t][r] = contexts[t](images[t * RUNS + r])
    except Exception as e:  # reported below
        errors.append("thread {}: {!r}".format(t, e))


threads = [threading.Thread(target=worker, args=(t,)) for t in range(THREADS)]
for th in threads:
    th.start()
start.wait()
# The model's own (default) context runs meanwhile.
model_ok = all(same_bits(m(images[k]), want[k]) for k in range(RUNS))
for th in threads:
    th.join()
check(not errors, "no thread failed: {}".format(errors))
mismatch = [(t, r) for t in range(THREADS) for r in range(RUNS)
            if got[t][r] is None or not same_bits(got[t][r], want[t * RUNS + r])]
check(not mismatch, "{} threads x {} runs through {} contexts: outputs bit-identical to "
      "the single-threaded run (mismatches: {})".format(THREADS, RUNS, THREADS, mismatch[:5]))
check(model_ok, "the model's own calls meanwhile: bit-identical too")

c = contexts[0]
for fn, text, what in [
        (lambda: c(images[0].astype(np.float64)), "expected dtype float32, got float64",
         "a float64 input"),
        (lambda: c(images[0][:, :1]), "expected shape", "a wrong shape"),
        (lambda: c(z=images[0]), "unknown 'z'", "a wrong name"),
        (lambda: m.context(threads=0), "threads: expected an integer from 1 to 4096",
         "zero threads"),
        (lambda: dlart.Context("tiny.dlab"), "expected a dlart.Model", "a non-model")]:
    try:
        fn()
        check(False, "{} is refused: no error".format(what))
    except dlart.Error as e:
        check(text in str(e), "{} is refused: {}".format(what, e))

b = c.benchmark(iterations=3, warmup=1)
check(b["iterations"] == 3 and b["min_ms"] > 0 and b["device"] == c.device_info,
      "a context's benchmark")
with m.context() as scoped:
    check(same_bits(scoped(images[5]), want[5]), "a context as a context manager")
try:
    scoped(images[5])
    check(False, "a closed context refuses calls: no error")
except dlart.Error as e:
    check(e.status == "state" and "the context is closed" in str(e),
          "a closed context refuses calls: " + str(e))

# Closing the model first leaves its contexts working (the runtime keeps the
# model until the last context goes).
m.close()
check(same_bits(contexts[1](images[9]), want[9]), "a context outlives its closed model")
for ctx in contexts:
    ctx.close()

if failures:
    print("{} check(s) failed".format(len(failures)))
    sys.exit(1)
print("all checks passed")
