#!/usr/bin/python3
"""Writes a PyTorch parity case for a dlac model JSON.

    make_parity_case.py MODEL.json OUTDIR [--seed S] [--input-shape N,C,H,W]
                        [--precision f16,bf16,tf32]

OUTDIR/weights.safetensors   the state dict (num_batches_tracked dropped), f32
OUTDIR/input.safetensors     one tensor, `input`, ~ N(0, 1)
OUTDIR/expected.safetensors  the model outputs in float32, named as the model names them
OUTDIR/truth.safetensors     the same outputs computed in float64 (F64 tensors)
OUTDIR/expected-P.safetensors  with --precision P (f16, bf16, tf32): the outputs of
                             the oracle rounding where dlac's mode P rounds
                             (python/dla_precision.py), the yardstick of that mode

The model is built by python/dla_torch.py (the independent oracle), given
seeded random weights (dla_torch.randomize, calibrated on the input so that
activations stay O(1) and DCN offsets are a few pixels), and run in float32
on the CPU under torch.no_grad(), whatever the JSON's `precision` says.
Weights come from `seed`, the input from a generator seeded with
seed + INPUT_SEED_OFFSET, so that the two are independent draws.

The same model, with the same (float32) weights and input widened exactly,
also runs in float64: that result is the truth every implementation is
measured against, and PyTorch's own float32 error against it is the yardstick
(scripts/compare_outputs.py, docs/testing.md). The largest f32-vs-f64
difference relative to the largest output value is printed and recorded in
the metadata of expected.safetensors (`f64_max_rel_diff`).
"""

import argparse
import copy
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))

import torch  # noqa: E402

import dla_precision  # noqa: E402
import dla_safetensors  # noqa: E402
import dla_torch  # noqa: E402

INPUT_SEED_OFFSET = 1_000_003


def parse_shape(text):
    try:
        shape = [int(d) for d in text.split(",")]
    except ValueError:
        shape = []
    if len(shape) != 4 or min(shape) < 1:
        raise argparse.ArgumentTypeError(
            "expected N,C,H,W (4 positive integers), got {!r}".format(text))
    return shape


def run_float64(model, x):
    """The model's outputs in float64, from the same float32 weights and
    input (widening to float64 is exact)."""
    m64 = copy.deepcopy(model).double()
    with torch.no_grad():
        return {k: v.detach().contiguous() for k, v in m64(x.double()).items()}


def f64_deviation(outputs, truth):
    """Max |f32 output - f64 output| / max |f64 output| over the outputs: how
    well-conditioned the case is."""
    return max(((outputs[k].double() - truth[k]).abs().max() /
                truth[k].abs().max().clamp_min(1e-30)).item() for k in truth)


def make_case(model_path, outdir, seed=0, input_shape=None, precisions=()):
    """Builds the case; returns (weights, input, outputs, truth, f64
    deviation), the first four as dicts."""
    spec = dla_torch.load_spec(model_path)
    model, names = dla_torch.build_model(spec, input_shape=input_shape)
    shape = input_shape or spec["input"]["shape"]
    gen = torch.Generator().manual_seed(int(seed) + INPUT_SEED_OFFSET)
    x = torch.randn(shape, generator=gen, dtype=torch.float32)
    dla_torch.randomize(model, seed, calibration_input=x)
    model = model.float().eval()
    with torch.no_grad():
        outputs = model(x)
    assert list(outputs) == names, (list(outputs), names)
    weights = {k: v.detach().float().contiguous()
               for k, v in model.state_dict().items()
               if not k.endswith("num_batches_tracked")}
    expected = {k: v.detach().float().contiguous() for k, v in outputs.items()}
    truth = run_float64(model, x)
    deviation = f64_deviation(expected, truth)

    meta = {"generator": "scripts/make_parity_case.py (python/dla_torch.py)",
            "model": os.path.basename(model_path), "seed": str(seed),
            "input_shape": ",".join(str(d) for d in shape),
            "torch": torch.__version__}
    os.makedirs(outdir, exist_ok=True)
    dla_safetensors.save_file(weights, os.path.join(outdir, "weights.safetensors"), meta)
    dla_safetensors.save_file({"input": x}, os.path.join(outdir, "input.safetensors"), meta)
    emeta = dict(meta, outputs=",".join(names))
    emeta["f64_max_rel_diff"] = "{:.3e}".format(deviation)
    dla_safetensors.save_file(expected, os.path.join(outdir, "expected.safetensors"), emeta)
    dla_safetensors.save_file(truth, os.path.join(outdir, "truth.safetensors"),
                              dict(emeta, precision="f64"))
    for p in precisions:
        with torch.no_grad():
            rounded = dla_precision.rounded_model(model, p)(x)
        rounded = {k: v.detach().float().contiguous() for k, v in rounded.items()}
        dla_safetensors.save_file(rounded, os.path.join(outdir, "expected-{}.safetensors".format(p)),
                                  dict(emeta, precision=p,
                                       f64_max_rel_diff="{:.3e}".format(f64_deviation(rounded, truth))))
    return weights, x, expected, truth, deviation


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model", help="model JSON (// comments allowed)")
    p.add_argument("outdir")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--input-shape", type=parse_shape, default=None,
                   help="N,C,H,W, overriding input.shape of the model JSON")
    p.add_argument("--precision", default="",
                   help="comma-separated reduced precisions (f16, bf16): also write "
                        "expected-P.safetensors, the oracle rounding as dlac's mode P does")
    args = p.parse_args(argv)
    precisions = [q for q in args.precision.split(",") if q]
    for q in precisions:
        if q not in dla_precision.ROUNDING:
            p.error("--precision: expected f16, bf16 or tf32, got {!r}".format(q))
    try:
        weights, x, expected, _, deviation = make_case(
            args.model, args.outdir, args.seed, args.input_shape, precisions)
    except (OSError, dla_torch.SpecError) as e:
        print("make_parity_case: error: {}".format(e), file=sys.stderr)
        return 1
    except RuntimeError as e:  # a shape PyTorch itself rejects
        print("make_parity_case: error: PyTorch rejected the model at this "
              "input shape: {}".format(str(e).splitlines()[0]), file=sys.stderr)
        return 1
    n = sum(t.numel() for t in weights.values())
    outs = " ".join("{}{}".format(k, list(v.shape)) for k, v in expected.items())
    dev = ", f32 vs f64 {:.1e}".format(deviation)
    print("parity case {}: seed {}, {} weights ({} values), input {}, outputs {}{} -> {}"
          .format(os.path.basename(args.model), args.seed, len(weights), n,
                  list(x.shape), outs, dev, args.outdir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
