# RUN: %python %s dlac %examples
# REQUIRES: torch
"""For every example model, the parameters dlac accepts (`--emit=params`) are
exactly the state_dict of the PyTorch oracle built from the same JSON: same
keys, same shapes (num_batches_tracked aside). Two independent readings of the
model description, the C++ frontend + dla-expand and python/dla_torch.py,
must agree."""

import glob
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))

import dla_torch  # noqa: E402


def main():
    dlac, examples = sys.argv[1], sys.argv[2]
    failures = 0
    files = sorted(glob.glob(os.path.join(examples, "*.json")))
    if not files:
        print("FAIL: no examples in", examples)
        return 1
    for path in files:
        out = subprocess.run([dlac, path, "--emit=params"], check=True,
                             capture_output=True, text=True).stdout
        ours = {}
        for line in out.splitlines():
            name, shape = line.split(" ", 1)
            ours[name] = [int(d) for d in shape.strip("[]").split(",") if d.strip()]
        model, _ = dla_torch.build_model(dla_torch.load_spec(path))
        theirs = {k: list(v.shape) for k, v in model.state_dict().items()
                  if not k.endswith("num_batches_tracked")}
        if ours == theirs:
            print(f"ok   {os.path.basename(path)}: {len(ours)} parameters")
            continue
        failures += 1
        missing = sorted(set(theirs) - set(ours))[:5]
        extra = sorted(set(ours) - set(theirs))[:5]
        shapes = [k for k in ours if k in theirs and ours[k] != theirs[k]][:5]
        print(f"FAIL {os.path.basename(path)}: missing {missing} extra {extra} "
              f"shape mismatches {shapes}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
