#!/usr/bin/python3
"""Converts a PyTorch checkpoint to safetensors for dla-run / dlac.

    pth2safetensors.py IN.pth OUT.safetensors [--keep-dtype]

Accepts a CenterNet checkpoint ({'epoch': ..., 'state_dict': {...}, ...}) or
a plain state dict. Strips a `module.` prefix (DataParallel), drops
`num_batches_tracked`, and writes contiguous float32 tensors (with
--keep-dtype, f16/bf16/f64 tensors keep their dtype). Non-floating tensors are
written unchanged. Exits non-zero with a message on any problem.
"""

import argparse
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))

import torch  # noqa: E402

import dla_safetensors  # noqa: E402


class ConversionError(Exception):
    pass


def extract_state_dict(obj, path):
    """The state dict inside a loaded checkpoint `obj`."""
    if isinstance(obj, dict) and "state_dict" in obj:
        sd = obj["state_dict"]
        where = "{}['state_dict']".format(path)
    elif isinstance(obj, dict):
        sd = obj
        where = path
    else:
        raise ConversionError(
            "{}: not a checkpoint: expected a state dict or a dict with a "
            "'state_dict' entry, got {}".format(path, type(obj).__name__))
    if not isinstance(sd, dict) or not sd:
        raise ConversionError("{}: not a checkpoint: {} is {}".format(
            path, where, "empty" if isinstance(sd, dict) else type(sd).__name__))
    bad = [k for k, v in sd.items()
           if not isinstance(k, str) or not isinstance(v, torch.Tensor)]
    if bad:
        shown = ", ".join("{!r} ({})".format(k, type(sd[k]).__name__) for k in bad[:5])
        raise ConversionError("{}: {} has {} non-tensor entr{}: {}{}".format(
            path, where, len(bad), "y" if len(bad) == 1 else "ies", shown,
            ", ..." if len(bad) > 5 else ""))
    return sd


def convert(sd, keep_dtype=False):
    """Returns the cleaned name -> tensor dict."""
    out = {}
    for key, t in sd.items():
        name = key[len("module."):] if key.startswith("module.") else key
        if name.endswith("num_batches_tracked"):
            continue
        if name in out:
            raise ConversionError(
                "two entries map to {!r} once 'module.' is stripped".format(name))
        t = t.detach().cpu()
        if t.is_floating_point() and not (keep_dtype and t.dtype in (
                torch.float16, torch.bfloat16, torch.float64)):
            t = t.float()
        out[name] = t.contiguous()
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("input", help="checkpoint (.pth) written by torch.save")
    p.add_argument("output", help="safetensors file to write")
    p.add_argument("--keep-dtype", action="store_true",
                   help="keep f16/bf16/f64 tensors as they are instead of f32")
    args = p.parse_args(argv)
    try:
        if not os.path.isfile(args.input):
            raise ConversionError("{}: no such file".format(args.input))
        try:
            obj = torch.load(args.input, map_location="cpu")
        except Exception as e:  # pickle, zip and torch errors alike
            raise ConversionError("{}: not a PyTorch checkpoint ({}: {})".format(
                args.input, type(e).__name__, e)) from None
        sd = extract_state_dict(obj, args.input)
        tensors = convert(sd, args.keep_dtype)
        meta = {"source": os.path.basename(args.input)}
        if isinstance(obj, dict) and "epoch" in obj:
            meta["epoch"] = str(obj["epoch"])
        dla_safetensors.save_file(tensors, args.output, meta)
    except (ConversionError, OSError) as e:
        print("pth2safetensors: error: {}".format(e), file=sys.stderr)
        return 1
    dtypes = sorted({str(t.dtype).replace("torch.", "") for t in tensors.values()})
    print("pth2safetensors: {} -> {}: {} tensors ({} values, {}), {} entries dropped"
          .format(args.input, args.output, len(tensors),
                  sum(t.numel() for t in tensors.values()), "/".join(dtypes),
                  len(sd) - len(tensors)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
