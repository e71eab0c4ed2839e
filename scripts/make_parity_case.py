#!/usr/bin/python3
"""Writes a PyTorch parity case for a dlac model JSON.

    make_parity_case.py MODEL.json OUTDIR [--seed S] [--input-shape N,C,H,W]

OUTDIR/weights.safetensors   the state dict (num_batches_tracked dropped), f32
OUTDIR/input.safetensors     one tensor, `input`, ~ N(0, 1)
OUTDIR/expected.safetensors  the model outputs, named as the model names them

The model is built by python/dla_torch.py (the independent oracle), given
seeded random weights (dla_torch.randomize, calibrated on the input so that
activations stay O(1) and DCN offsets are a few pixels), and run in float32
on the CPU under torch.no_grad(), whatever the JSON's `precision` says.
Weights come from `seed`, the input from a generator seeded with
seed + INPUT_SEED_OFFSET, so that the two are independent draws.
--f64-check also runs the model in float64 and reports (and records in the
metadata of expected.safetensors) the largest f32-vs-f64 difference relative
to the largest output value: a parity tolerance below it is meaningless.
"""

import argparse
import copy
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))

import torch  # noqa: E402

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


def f64_deviation(model, x, outputs):
    """Max |f32 output - f64 output| / max |f64 output| over the outputs: how
    well-conditioned the case is, i.e. the smallest meaningful tolerance."""
    m64 = copy.deepcopy(model).double()
    with torch.no_grad():
        ref = m64(x.double())
    return max(((outputs[k].double() - ref[k]).abs().max() /
                ref[k].abs().max().clamp_min(1e-30)).item() for k in ref)


def make_case(model_path, outdir, seed=0, input_shape=None, f64_check=False):
    """Builds the case; returns (weights, input, outputs, f64 deviation or
    None) as dicts."""
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
    deviation = f64_deviation(model, x, expected) if f64_check else None

    meta = {"generator": "scripts/make_parity_case.py (python/dla_torch.py)",
            "model": os.path.basename(model_path), "seed": str(seed),
            "input_shape": ",".join(str(d) for d in shape),
            "torch": torch.__version__}
    os.makedirs(outdir, exist_ok=True)
    dla_safetensors.save_file(weights, os.path.join(outdir, "weights.safetensors"), meta)
    dla_safetensors.save_file({"input": x}, os.path.join(outdir, "input.safetensors"), meta)
    emeta = dict(meta, outputs=",".join(names))
    if deviation is not None:
        emeta["f64_max_rel_diff"] = "{:.3e}".format(deviation)
    dla_safetensors.save_file(expected, os.path.join(outdir, "expected.safetensors"), emeta)
    return weights, x, expected, deviation


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model", help="model JSON (// comments allowed)")
    p.add_argument("outdir")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--input-shape", type=parse_shape, default=None,
                   help="N,C,H,W, overriding input.shape of the model JSON")
    p.add_argument("--f64-check", action="store_true",
                   help="also run in float64 and report how far the f32 outputs "
                        "are from it (relative to the largest output value)")
    args = p.parse_args(argv)
    try:
        weights, x, expected, deviation = make_case(
            args.model, args.outdir, args.seed, args.input_shape, args.f64_check)
    except (OSError, dla_torch.SpecError) as e:
        print("make_parity_case: error: {}".format(e), file=sys.stderr)
        return 1
    except RuntimeError as e:  # a shape PyTorch itself rejects
        print("make_parity_case: error: PyTorch rejected the model at this "
              "input shape: {}".format(str(e).splitlines()[0]), file=sys.stderr)
        return 1
    n = sum(t.numel() for t in weights.values())
    outs = " ".join("{}{}".format(k, list(v.shape)) for k, v in expected.items())
    dev = "" if deviation is None else ", f32 vs f64 {:.1e}".format(deviation)
    print("parity case {}: seed {}, {} weights ({} values), input {}, outputs {}{} -> {}"
          .format(os.path.basename(args.model), args.seed, len(weights), n,
                  list(x.shape), outs, dev, args.outdir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
