# RUN: %python %s
# REQUIRES: torch
"""scripts/make_parity_case.py (its main(), in-process) on DLASeg-34 (neck, 3 heads) at 1x3x64x64:
writes weights/input/expected safetensors (all f32, num_batches_tracked
dropped) and the float64 truth (F64, close to expected); the weights loaded into a freshly built model reproduce the
expected outputs; activations are O(1) and the DCN offsets are a few pixels
with many sampling points off the map; the case is reproducible from its
seed."""

import contextlib
import importlib.util
import io
import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "python"))
SCRIPT = os.path.join(ROOT, "scripts", "make_parity_case.py")

import torch  # noqa: E402

import dla_safetensors  # noqa: E402
import dla_torch  # noqa: E402

_spec = importlib.util.spec_from_file_location("make_parity_case_script", SCRIPT)
script = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(script)

failures = []


def check(ok, what):
    print("{}: {}".format("ok" if ok else "FAIL", what))
    if not ok:
        failures.append(what)


MODEL = """// CenterNet ctdet, DLA-34 (input overridden to 64x64 below)
{
  "name": "ctdet_dla34",
  "input": {"shape": [1, 3, 512, 512]},
  "precision": "f32",
  "backbone": {"preset": "dla34"},
  "neck": {"down_ratio": 4, "last_level": 5, "out_channel": 0},
  "heads": {"head_conv": 256, "final_kernel": 1,
            "outputs": {"hm": 80, "wh": 2, "reg": 2}}
}
"""

with tempfile.TemporaryDirectory() as tmp:
    model_path = os.path.join(tmp, "ctdet_dla34.json")
    with open(model_path, "w") as f:
        f.write(MODEL)
    out = os.path.join(tmp, "case")
    # The script's main() runs in-process (one torch import keeps the test
    # fast); its stdout is the one-line summary.
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = script.main([model_path, out, "--seed", "3", "--input-shape", "1,3,64,64"])
    check(rc == 0, "make_parity_case.main exits 0")
    lines = buf.getvalue().strip().splitlines()
    check(len(lines) == 1 and lines[0].startswith("parity case"),
          "one-line summary: {}".format(buf.getvalue().strip()))

    files = {n: os.path.join(out, n + ".safetensors")
             for n in ("weights", "input", "expected", "truth")}
    check(all(os.path.isfile(f) for f in files.values()), "four safetensors files written")
    headers = {n: dla_safetensors.read_header(f)[0] for n, f in files.items()}
    dtypes = {v["dtype"] for n, h in headers.items() if n != "truth"
              for k, v in h.items() if k != "__metadata__"}
    check(dtypes == {"F32"}, "every weight, input and expected tensor is F32 (got {})"
          .format(sorted(dtypes)))
    tdtypes = {v["dtype"] for k, v in headers["truth"].items() if k != "__metadata__"}
    check(tdtypes == {"F64"}, "every truth tensor is F64 (got {})".format(sorted(tdtypes)))
    weights = dla_safetensors.load_file(files["weights"])
    inp = dla_safetensors.load_file(files["input"])
    expected = dla_safetensors.load_file(files["expected"])
    truth = dla_safetensors.load_file(files["truth"])
    check(list(inp) == ["input"] and list(inp["input"].shape) == [1, 3, 64, 64],
          "input.safetensors holds `input` [1, 3, 64, 64]")
    check(list(expected) == ["hm", "reg", "wh"] and
          {k: list(v.shape) for k, v in expected.items()} ==
          {"hm": [1, 80, 16, 16], "wh": [1, 2, 16, 16], "reg": [1, 2, 16, 16]},
          "expected holds hm/wh/reg at [1, C, 16, 16]")
    check(headers["weights"]["__metadata__"]["seed"] == "3", "metadata records the seed")
    # The case must be well-conditioned: f32 rounding may not be amplified
    # (the DCN offsets of one level depend on the previous level's output).
    dev = float(headers["expected"]["__metadata__"]["f64_max_rel_diff"])
    check(dev < 1e-4, "f32 outputs within {:.1e} of float64 (relative to max |output|)"
          .format(dev))
    check(sorted(truth) == sorted(expected) and
          all(truth[k].shape == expected[k].shape for k in truth),
          "the truth has the expected outputs' names and shapes")
    # The truth is PyTorch in float64 on the same weights: recompute it from
    # the written files, and see that it is not merely the float32 result.
    spec64 = dla_torch.load_spec(model_path)
    m64, _ = dla_torch.build_model(spec64, input_shape=[1, 3, 64, 64])
    m64.load_state_dict(weights, strict=False)
    m64 = m64.double().eval()
    with torch.no_grad():
        again = m64(inp["input"].double())
    check(all(torch.equal(again[k], truth[k]) for k in truth),
          "the truth is the float64 model on the written weights and input")
    diff32 = max((expected[k].double() - truth[k]).abs().max().item() for k in truth)
    check(diff32 > 0, "float32 and float64 results differ (by {:.1e})".format(diff32))

    spec = dla_torch.load_spec(model_path)
    model, names = dla_torch.build_model(spec)
    sd_keys = [k for k in model.state_dict() if not k.endswith("num_batches_tracked")]
    check(sorted(weights) == sorted(sd_keys) and len(weights) == 398 - 55,
          "weights = state dict without the 55 num_batches_tracked ({} tensors)".format(len(weights)))
    res = model.load_state_dict(weights, strict=False)
    check(not res.unexpected_keys and
          all(k.endswith("num_batches_tracked") for k in res.missing_keys),
          "weights load into a freshly built model")
    with torch.no_grad():
        got = model(inp["input"])
    err = max((got[k] - expected[k]).abs().max().item() for k in names)
    check(err <= 1e-5, "reloaded model reproduces expected (max |diff| {:.1e})".format(err))

    rms = {k: v.pow(2).mean().sqrt().item() for k, v in expected.items()}
    check(all(0.1 < r < 10 for r in rms.values()),
          "outputs are O(1): RMS {}".format({k: round(r, 2) for k, r in rms.items()}))
    stats = dla_torch.dcn_offset_stats(model, inp["input"])
    stds = [s[1] for s in stats]
    outside = [s[2] for s in stats]
    check(len(stats) == 16 and all(1.0 < s < 4.0 for s in stds),
          "DCN offsets of a few pixels: std {:.2f}..{:.2f} px over 16 DCNs".format(min(stds), max(stds)))
    check(min(outside) > 0.05,
          "sampling points off the map in every DCN: {:.0%}..{:.0%}".format(min(outside), max(outside)))
    varying = [s[4] for s in stats]
    check(all(0.1 < v < 0.6 for v in varying),
          "offsets vary from pixel to pixel by {:.2f}..{:.2f} px".format(min(varying), max(varying)))
    ups = [m.weight for m in model.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    check(all(not torch.equal(w, w.flip(-1)) for w in ups),
          "up-sampling kernels are random, not the symmetric bilinear kernel")

    # Same seed -> same case; another seed -> other weights. In-process, on a
    # small DLA (bottleneckx trees, residual roots) to keep the test fast.
    small = os.path.join(tmp, "small.json")
    with open(small, "w") as f:
        f.write('{"input": {"shape": [1, 3, 32, 32]},\n'
                ' "backbone": {"levels": [1, 1, 1, 2, 2, 1], "channels": [8, 16, 32, 32, 64, 64],\n'
                '              "block": "bottleneckx", "residual_root": true, "cardinality": 8},\n'
                ' "neck": {"down_ratio": 2, "last_level": 4},\n'
                ' "heads": {"head_conv": 8, "final_kernel": 3, "outputs": {"hm": 2}}}\n')
    w1, x1, e1, _, _ = script.make_case(small, os.path.join(tmp, "s1"), 5)
    w2, x2, e2, _, _ = script.make_case(small, os.path.join(tmp, "s2"), 5)
    check(torch.equal(x2, x1) and
          max((w2[k] - w1[k]).abs().max().item() for k in w1) <= 1e-6,
          "the same seed reproduces the input and the weights")
    check(list(e1["hm"].shape) == [1, 2, 16, 16], "down_ratio 2 model: hm [1, 2, 16, 16]")
    w3, x3, _, _, _ = script.make_case(small, os.path.join(tmp, "s3"), 6)
    check(not torch.equal(x3, x1) and not torch.equal(w3["hm.2.weight"], w1["hm.2.weight"]),
          "another seed gives another input and other weights")

if failures:
    print("{} check(s) failed".format(len(failures)))
    sys.exit(1)
print("all checks passed")
