# REQUIRES: numpy
# UNSUPPORTED: sanitizers
# RUN: rm -rf %t && mkdir -p %t
# RUN: dlac %dla_src/test/Numerics/Inputs/tiny.json --target host -o %t/tiny.dlab
# RUN: dlac %dla_src/test/Numerics/Inputs/tiny.json --emit=params -o %t/params.txt
# RUN: %python %dla_src/test/python/Inputs/random_weights.py %t/params.txt %t/w.safetensors
# RUN: env DLART_LIBRARY=%libdlart %python %s %t
"""No growth of resident memory over 500 runs of one model from Python
(through the model and through a context), nor over 100 contexts created,
run and closed: the resident set (/proc/self/statm) after a warm-up and after
the runs may differ by a small slack only (the Python allocator's noise;
leaking the 23 KiB of outputs of each run would be 11 MiB)."""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "python"))

import numpy as np  # noqa: E402

import dlart  # noqa: E402

work = sys.argv[1]
failures = []
PAGE = os.sysconf("SC_PAGE_SIZE")
SLACK = 1 << 20  # bytes


def check(ok, what):
    print("{}: {}".format("ok" if ok else "FAIL", what))
    if not ok:
        failures.append(what)


def resident():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


m = dlart.Model(os.path.join(work, "tiny.dlab"), weights=os.path.join(work, "w.safetensors"),
                threads=2)
ctx = m.context()
x = np.random.default_rng(3).uniform(-1, 1, m.inputs[0].shape).astype(np.float32)
first = m(x)
for runner in (m, ctx):
    for _ in range(50):  # warm-up: the allocator's pools, the thread pools
        runner(x)
    before = resident()
    for _ in range(500):
        out = runner(x)
    grown = resident() - before
    check(grown <= SLACK and all(np.array_equal(out[k], first[k]) for k in first),
          "{}: 500 runs, resident memory grew by {} KiB (at most {} KiB)".format(
              type(runner).__name__, grown // 1024, SLACK // 1024))

for _ in range(10):  # warm-up of create/close
    with m.context() as c:
        c(x)
before = resident()
for _ in range(100):
    with m.context() as c:
        c(x)
grown = resident() - before
check(grown <= SLACK, "100 contexts created, run and closed: resident memory grew by {} KiB "
      "(at most {} KiB)".format(grown // 1024, SLACK // 1024))

if failures:
    print("{} check(s) failed".format(len(failures)))
    sys.exit(1)
print("all checks passed")
