# RUN: %python %s
# REQUIRES: torch
"""scripts/pth2safetensors.py: a CenterNet checkpoint ({'epoch', 'state_dict'}
with DataParallel `module.` prefixes) and a plain state dict convert to
safetensors with the prefix stripped, num_batches_tracked dropped and values
unchanged (f32; f16 kept with --keep-dtype); bad inputs fail with a message
and a non-zero exit status."""

import contextlib
import importlib.util
import io
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "python"))
SCRIPT = os.path.join(ROOT, "scripts", "pth2safetensors.py")

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

import dla_safetensors  # noqa: E402

failures = []


def check(ok, what):
    print("{}: {}".format("ok" if ok else "FAIL", what))
    if not ok:
        failures.append(what)


# The script runs in-process (importing torch once keeps the test fast); one
# case below also runs it as a separate process to check the exit status.
_spec = importlib.util.spec_from_file_location("pth2safetensors_script", SCRIPT)
script = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(script)


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = script.main(list(args))
    return rc, out.getvalue().strip(), err.getvalue().strip()


def run_process(*args):
    p = subprocess.run([sys.executable, SCRIPT] + list(args),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return p.returncode, p.stdout.strip(), p.stderr.strip()


torch.manual_seed(0)
net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Conv2d(4, 2, 1))
net[1].running_mean.uniform_()
plain = net.state_dict()
wrapped = {"module." + k: v for k, v in plain.items()}
expected_keys = sorted(k for k in plain if not k.endswith("num_batches_tracked"))

with tempfile.TemporaryDirectory() as tmp:
    ckpt = os.path.join(tmp, "model_last.pth")
    torch.save({"epoch": 140, "state_dict": wrapped,
                "optimizer": {"state": {}, "param_groups": []}}, ckpt)
    out = os.path.join(tmp, "ckpt.safetensors")
    rc, so, se = run(ckpt, out)
    check(rc == 0, "CenterNet checkpoint converts (rc {}, {})".format(rc, se or so))
    print("   " + so)
    got = dla_safetensors.load_file(out)
    check(sorted(got) == expected_keys,
          "module. stripped, num_batches_tracked dropped: {}".format(sorted(got)))
    check(all(torch.equal(got[k], plain[k].float()) for k in got), "values unchanged")
    check(all(t.dtype == torch.float32 for t in got.values()), "all tensors f32")
    meta = dla_safetensors.load_metadata(out)
    check(meta == {"source": "model_last.pth", "epoch": "140"},
          "metadata records source and epoch: {}".format(meta))

    half = {k: (v.half() if v.is_floating_point() else v) for k, v in plain.items()}
    sd_path = os.path.join(tmp, "plain.pth")
    torch.save(half, sd_path)
    rc, so, se = run(sd_path, os.path.join(tmp, "plain.safetensors"))
    got = dla_safetensors.load_file(os.path.join(tmp, "plain.safetensors"))
    check(rc == 0 and sorted(got) == expected_keys, "plain f16 state dict converts")
    check(all(t.dtype == torch.float32 and torch.equal(t, half[k].float())
              for k, t in got.items()), "f16 values widened to f32 exactly")
    rc, so, se = run(sd_path, os.path.join(tmp, "keep.safetensors"), "--keep-dtype")
    got = dla_safetensors.load_file(os.path.join(tmp, "keep.safetensors"))
    check(rc == 0 and all(t.dtype == torch.float16 and torch.equal(t, half[k])
                          for k, t in got.items()), "--keep-dtype keeps f16")

    # Error cases: each must exit non-zero with a message naming the problem.
    bad_entries = os.path.join(tmp, "bad_entries.pth")
    torch.save({"state_dict": {"a.weight": torch.zeros(1), "b": 3, "c": "x"}}, bad_entries)
    not_dict = os.path.join(tmp, "list.pth")
    torch.save([torch.zeros(1)], not_dict)
    garbage = os.path.join(tmp, "garbage.pth")
    with open(garbage, "wb") as f:
        f.write(b"definitely not a pickle")
    dup = os.path.join(tmp, "dup.pth")
    torch.save({"module.x": torch.zeros(1), "x": torch.ones(1)}, dup)
    for path, needle, what in [
            (os.path.join(tmp, "missing.pth"), "no such file", "missing file"),
            (garbage, "not a PyTorch checkpoint", "not a pickle"),
            (not_dict, "not a checkpoint", "a list instead of a dict"),
            (bad_entries, "non-tensor entr", "non-tensor entries"),
            (dup, "two entries map to", "a key present with and without module.")]:
        target = os.path.join(tmp, "err.safetensors")
        rc, so, se = run(path, target)
        check(rc != 0 and needle in se and not os.path.exists(target),
              "{}: exit {} with '{}'".format(what, rc, se))

    rc, so, se = run_process(bad_entries, os.path.join(tmp, "err.safetensors"))
    check(rc == 1 and "non-tensor entr" in se and not so,
          "as a process: exit status {}, message on stderr".format(rc))

if failures:
    print("{} check(s) failed".format(len(failures)))
    sys.exit(1)
print("all checks passed")
