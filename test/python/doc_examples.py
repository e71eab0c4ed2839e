# REQUIRES: numpy
# An ASan build's libdlart cannot be loaded into the uninstrumented Python
# (scripts/sanitize.sh).
# UNSUPPORTED: sanitizers
# RUN: rm -rf %t && mkdir -p %t
# RUN: dlac %dla_src/test/Numerics/Inputs/tiny.json --target host -o %t/ctdet.dlab
# RUN: dlac %dla_src/test/Numerics/Inputs/tiny.json --emit=params -o %t/params.txt
# RUN: %python %dla_src/test/python/Inputs/random_weights.py %t/params.txt %t/w.safetensors
# RUN: cp %t/w.safetensors %t/ctdet.safetensors
# RUN: env DLART_LIBRARY=%libdlart %python %s %t | FileCheck %s
# CHECK: ok: README.md's example prints the outputs
# CHECK: ok: runtime.md's example runs
# CHECK: ok: runtime.md's threads example runs
# CHECK: all checks passed
"""The documented Python examples, run as written on a tiny model, so that
they cannot rot: README.md's one-line `PYTHONPATH=python /usr/bin/python3 -c
'import dlart; ...dlart.Model(...)...'` (its -c program, run from a
directory holding its ctdet.dlab and w.safetensors: tiny.json with random
weights) and docs/runtime.md's first two ```python blocks of its Python
section (the Model tour, with the model's input shape for its 512x512 and
`x` an input; the threads example, with `m` and `images` given). A doc whose
example no longer runs, or that no longer has it, fails here."""

import os
import re
import shlex
import subprocess
import sys
import textwrap

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


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


# README.md: the line of the Tools block that runs dlart.Model with the
# system Python, PYTHONPATH=python being the repository's python/.
readme = open(os.path.join(ROOT, "README.md")).read()
lines = [ln for ln in readme.splitlines()
         if ln.startswith("PYTHONPATH=python ") and "dlart.Model(" in ln]
if len(lines) != 1:
    fail("README.md: expected one line `PYTHONPATH=python ... -c '...dlart.Model(...)...'`, "
         "found {}".format(len(lines)))
words = shlex.split(lines[0])
if words[:3] != ["PYTHONPATH=python", "/usr/bin/python3", "-c"] or len(words) != 4:
    fail("README.md: the dlart line is not `PYTHONPATH=python /usr/bin/python3 -c "
         "'PROGRAM'`: " + lines[0])
env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python"))
run = subprocess.run([sys.executable, "-c", words[3]], cwd=work, env=env,
                     capture_output=True, text=True)
m = dlart.Model(os.path.join(work, "ctdet.dlab"), weights=os.path.join(work, "w.safetensors"))
check(run.returncode == 0 and run.stdout.strip() == str(m.outputs),
      "README.md's example prints the outputs ({!r}, stderr {!r})".format(
          run.stdout.strip(), run.stderr.strip()))

# docs/runtime.md: the ```python blocks of the section "## Python".
runtime = open(os.path.join(ROOT, "docs", "runtime.md")).read()
section = re.search(r"^## Python[^\n]*\n(.*?)(?=^## |\Z)", runtime, re.M | re.S)
blocks = re.findall(r"^ *```python\n(.*?)^ *```", section.group(1) if section else "",
                    re.M | re.S)
if len(blocks) < 2:
    fail("docs/runtime.md: expected two ```python blocks in '## Python', found {}".format(
        len(blocks)))
tour, threads = (textwrap.dedent(b) for b in blocks[:2])

shape = m.inputs[0].shape
if "(1, 3, 512, 512)" not in tour or '"input"' not in tour:
    fail("docs/runtime.md: the example no longer has the input (1, 3, 512, 512) named "
         "'input' this test adapts:\n" + tour)
check(m.inputs[0].name == "input", "tiny.json's input is named 'input', as in the example")
tour = tour.replace("(1, 3, 512, 512)", repr(tuple(shape)))
x = np.random.default_rng(1).uniform(-1, 1, shape).astype(np.float32)
cwd = os.getcwd()
os.chdir(work)
try:
    scope = {"x": x}
    exec(compile(tour, "docs/runtime.md (Python example)", "exec"), scope)
    out = scope["out"]
    want = m(np.zeros(shape, np.float32))
    check(sorted(out) == sorted(want) and all(np.array_equal(out[k], want[k]) for k in want),
          "runtime.md's example runs")

    images = [np.random.default_rng(i).uniform(-1, 1, shape).astype(np.float32)
              for i in range(8)]
    scope = {"m": m, "images": images}
    exec(compile(threads, "docs/runtime.md (threads example)", "exec"), scope)
    results = scope["results"]
    check(len(results) == len(images) and all(
        np.array_equal(r[k], m(img)[k]) for r, img in zip(results, images) for k in r),
        "runtime.md's threads example runs")
finally:
    os.chdir(cwd)

if failures:
    print("{} check(s) failed".format(len(failures)))
    sys.exit(1)
print("all checks passed")
