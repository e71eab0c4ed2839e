"""bench/host_vs_torch --precision: the host bundle in each storage precision.

For one parity case of host_vs_torch: compiles the model once per precision
(`dlac --precision P --target host`), checks each output against the float64
truth with the oracle that rounds as mode P does as the yardstick
(python/dla_precision.py; scripts/compare_outputs.py: within 4x of its error),
then times the bundles interleaved: `rounds` rounds, each running every
precision's `dla-run --bench RUNS` once, in turn, so that a slow phase of the
(shared) machine hits every mode alike. Prints per mode: the median over the
rounds of dla-run's median, the ratio to f32, the arena and prepared bytes
of the manifest, and the error (relative to max |truth|, and on sigmoid(hm)).
"""

import json
import os
import re
import statistics
import sys

ROUND_RE = re.compile(r"^bench: .* median ([\d.]+) ms", re.M)


def _bundle(args, c, precision, run_tool, log):
    d = os.path.join(c["dir"], "precision-" + precision)
    os.makedirs(d, exist_ok=True)
    bundle = os.path.join(d, "model.dlab")
    st = os.stat(args.dlac)
    stamp = "{} {} {} {}".format(args.dlac, st.st_size, st.st_mtime_ns,
                                 open(c["json"]).read())
    stamp_file = os.path.join(d, "bundle.stamp")
    if not (os.path.exists(stamp_file) and open(stamp_file).read() == stamp and
            os.path.exists(os.path.join(bundle, "manifest.json"))):
        log("host_vs_torch: {}: compiling --precision {}".format(c["case"], precision))
        run_tool([args.dlac, c["json"], "--target", "host", "--precision", precision,
                  "-o", bundle], "dlac")
        with open(stamp_file, "w") as f:
            f.write(stamp)
    return d, bundle


def _baseline(c, precision, log):
    """The oracle's outputs in `precision` (expected-P.safetensors), made once."""
    if precision == "f32":
        return c["expected"]
    path = os.path.join(c["dir"], "expected-{}.safetensors".format(precision))
    if not os.path.exists(path):
        log("host_vs_torch: {}: the {} oracle".format(c["case"], precision))
        import torch
        import dla_precision
        import dla_torch
        from dla_safetensors import load_file, save_file
        model, _ = dla_torch.build_model(dla_torch.load_spec(c["json"]))
        model.load_state_dict({k: v for k, v in load_file(c["weights"]).items()}, strict=False)
        x = load_file(c["input"])["input"]
        with torch.no_grad():
            out = dla_precision.rounded_model(model.float().eval(), precision)(x)
        save_file({k: v.contiguous() for k, v in out.items()}, path, {"precision": precision})
    return path


def run(args, c, precisions, run_tool, log):
    """Returns one dict per precision (f32 first)."""
    import torch
    import compare_outputs
    from dla_safetensors import load_file
    modes = ["f32"] + [p for p in precisions if p != "f32"]
    truth = {k: v.double() for k, v in load_file(c["truth"]).items()}
    rows = []
    for p in modes:
        d, bundle = _bundle(args, c, p, run_tool, log)
        out = os.path.join(d, "out.safetensors")
        run_tool([args.dla_run, bundle, "--device", "host", "--weights", c["weights"],
                  "--input", c["input"], "--output", out, "--threads", str(args.threads)],
                 "dla-run")
        base = _baseline(c, p, log)
        got = load_file(out)
        checks = compare_outputs.measure(got, truth, load_file(base))
        rel = max(r["err"] / r["scale"] for r in checks if "err" in r and r["scale"] > 0)
        hm = None
        if "hm" in truth:
            hm = (torch.sigmoid(got["hm"].double()) - torch.sigmoid(truth["hm"])).abs().max().item()
        m = json.load(open(os.path.join(bundle, "manifest.json")))
        rows.append({"precision": p, "bundle": bundle, "times": [],
                     "check_ok": all(r["ok"] for r in checks),
                     "err_ratio": max(r.get("ratio", 0) for r in checks),
                     "rel_err": rel, "hm_sigmoid_err": hm,
                     "arena_bytes": m["memory"]["arena_bytes"],
                     "prepared_bytes": m["memory"]["prepared_bytes"]})
    for i in range(args.precision_rounds):
        for r in rows:
            log("host_vs_torch: {}: round {}/{}: {}".format(
                c["case"], i + 1, args.precision_rounds, r["precision"]))
            q, _ = run_tool([args.dla_run, r["bundle"], "--device", "host", "--weights",
                             c["weights"], "--input", c["input"], "--threads", str(args.threads),
                             "--bench", str(args.runs), "--warmup", str(args.warmup)], "dla-run")
            m = ROUND_RE.search(q.stdout)
            if not m:
                raise RuntimeError("dla-run printed no bench line:\n" + q.stdout)
            r["times"].append(float(m.group(1)))
    for r in rows:
        r["ms"] = statistics.median(r["times"])
    return rows


def print_table(c, rows):
    f32 = rows[0]
    print()
    print("{} {}x{}: storage precisions, interleaved ({} rounds; median of dla-run medians)"
          .format(c["name"], c["shape"][2], c["shape"][3], len(f32["times"])))
    hdr = "{:<6} {:>9} {:>9} {:>12} {:>8} {:>14} {:>8} {:>11} {:>12}  {}".format(
        "mode", "ms", "f32/mode", "arena MiB", "x f32", "prepared MiB", "x f32",
        "rel err", "sigmoid(hm)", "check (error / oracle's in that mode)")
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        print("{:<6} {:>9.1f} {:>9.2f} {:>12.2f} {:>8.2f} {:>14.2f} {:>8.2f} {:>11.2e} {:>12}  {}"
              .format(r["precision"], r["ms"], f32["ms"] / r["ms"], r["arena_bytes"] / 2**20,
                      r["arena_bytes"] / f32["arena_bytes"], r["prepared_bytes"] / 2**20,
                      r["prepared_bytes"] / f32["prepared_bytes"], r["rel_err"],
                      "-" if r["hm_sigmoid_err"] is None else "{:.2e}".format(r["hm_sigmoid_err"]),
                      ("ok" if r["check_ok"] else "MISMATCH") + ", {:.2f}x".format(r["err_ratio"])))
    print("  rounds (ms): " + "; ".join(
        "{} {}".format(r["precision"], ", ".join("{:.1f}".format(t) for t in r["times"]))
        for r in rows))
    sys.stdout.flush()
