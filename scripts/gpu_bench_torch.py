"""PyTorch eager latency of a dlac model on the GPU: median ms over N runs.

    gpu_bench_torch.py MODEL.json WEIGHTS.safetensors [N] [WARMUP] [PRECISION]

PRECISION: f32 (default; TF32 off), tf32 (f32 with TF32 on, cudnn.benchmark
on), f16 or bf16 (the model and input in that dtype, channels_last,
cudnn.benchmark on).
"""
import os
import statistics
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "python"))

import torch  # noqa: E402

import dla_torch  # noqa: E402
from dla_safetensors import load_file  # noqa: E402


def main():
    model_path, weights = sys.argv[1], sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 50
    warmup = int(sys.argv[4]) if len(sys.argv) > 4 else 10
    precision = sys.argv[5] if len(sys.argv) > 5 else "f32"
    dtype = {"f32": torch.float32, "tf32": torch.float32, "f16": torch.float16,
             "bf16": torch.bfloat16}[precision]
    torch.backends.cuda.matmul.allow_tf32 = precision == "tf32"
    torch.backends.cudnn.allow_tf32 = precision == "tf32"
    torch.backends.cudnn.benchmark = precision != "f32"
    spec = dla_torch.load_spec(model_path)
    model, _ = dla_torch.build_model(spec)
    state = load_file(weights)
    sd = model.state_dict()
    model.load_state_dict({k: state.get(k, sd[k]) for k in sd})
    model = model.cuda().eval().to(dtype)
    x = torch.randn(spec["input"]["shape"], device="cuda", dtype=dtype)
    if precision in ("f16", "bf16"):
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    times = []
    with torch.no_grad():
        for i in range(warmup + n):
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            model(x)
            torch.cuda.synchronize()
            if i >= warmup:
                times.append((time.perf_counter() - t0) * 1e3)
    print("torch eager {}: median {:.3f} ms, min {:.3f} ms".format(
        precision, statistics.median(times), min(times)))
    print("{:.3f}".format(statistics.median(times)))


if __name__ == "__main__":
    main()
