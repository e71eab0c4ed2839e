"""The model JSON as the PyTorch oracle reads it (python/dla_torch.py): the
presets, the three backbone forms, the neck and heads, with their defaults
and checks (the forms are documented in dla_torch.py's docstring and
docs/model-format.md). Independent of the compiler's frontend, on purpose:
the oracle must not share the code it checks.
"""

import collections
import json
import math
import re

# The official DLA constructors (CenterNet's dla.py / pose_dla_dcn.py):
# levels, channels, block, residual_root, cardinality (BottleneckX only).
# Bottleneck/BottleneckX use expansion 2 in all of them. dla102x2 is the only
# one that changes BottleneckX.cardinality (to 64) -- in CenterNet that is a
# class attribute set as a side effect; here it is a per-model field.
PRESETS = {
    "dla34": ([1, 1, 1, 2, 2, 1], [16, 32, 64, 128, 256, 512], "basic", False, 32),
    "dla46_c": ([1, 1, 1, 2, 2, 1], [16, 32, 64, 64, 128, 256], "bottleneck", False, 32),
    "dla46x_c": ([1, 1, 1, 2, 2, 1], [16, 32, 64, 64, 128, 256], "bottleneckx", False, 32),
    "dla60x_c": ([1, 1, 1, 2, 3, 1], [16, 32, 64, 64, 128, 256], "bottleneckx", False, 32),
    "dla60": ([1, 1, 1, 2, 3, 1], [16, 32, 128, 256, 512, 1024], "bottleneck", False, 32),
    "dla60x": ([1, 1, 1, 2, 3, 1], [16, 32, 128, 256, 512, 1024], "bottleneckx", False, 32),
    "dla102": ([1, 1, 1, 3, 4, 1], [16, 32, 128, 256, 512, 1024], "bottleneck", True, 32),
    "dla102x": ([1, 1, 1, 3, 4, 1], [16, 32, 128, 256, 512, 1024], "bottleneckx", True, 32),
    "dla102x2": ([1, 1, 1, 3, 4, 1], [16, 32, 128, 256, 512, 1024], "bottleneckx", True, 64),
    "dla169": ([1, 1, 2, 3, 5, 1], [16, 32, 128, 256, 512, 1024], "bottleneck", True, 32),
}

BLOCKS = ("basic", "bottleneck", "bottleneckx")
# Bottleneck.expansion of the DLA code (dla_torch.Bottleneck uses it).
BOTTLENECK_EXPANSION = 2


# --------------------------------------------------------------------------
# Model JSON
# --------------------------------------------------------------------------

class SpecError(ValueError):
    """A model description the oracle cannot build; the message starts with
    the JSON path of the offending field."""


def strip_json_comments(text):
    """Removes `//` comments (to the end of the line) outside JSON strings."""
    out = []
    i, n = 0, len(text)
    in_string = False
    while i < n:
        c = text[i]
        if in_string:
            out.append(c)
            if c == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 2
                continue
            if c == '"':
                in_string = False
        elif c == '"':
            in_string = True
            out.append(c)
        elif c == "/" and i + 1 < n and text[i + 1] == "/":
            while i < n and text[i] != "\n":
                i += 1
            continue
        else:
            out.append(c)
        i += 1
    return "".join(out)


def load_spec(path):
    with open(path, "r", encoding="utf-8") as f:
        text = f.read()
    try:
        return json.loads(strip_json_comments(text))
    except json.JSONDecodeError as e:
        raise SpecError("{}:{}:{}: invalid JSON: {}".format(
            path, e.lineno, e.colno, e.msg)) from None


def _int(obj, key, path, default=None, minimum=None):
    if key not in obj:
        if default is None:
            raise SpecError("{}.{}: missing".format(path, key))
        return default
    v = obj[key]
    if isinstance(v, bool) or not isinstance(v, int):
        raise SpecError("{}.{}: expected an integer, got {}".format(
            path, key, json.dumps(v)))
    if minimum is not None and v < minimum:
        raise SpecError("{}.{}: expected an integer >= {}, got {}".format(
            path, key, minimum, v))
    return v


def _bool(obj, key, path, default):
    v = obj.get(key, default)
    if not isinstance(v, bool):
        raise SpecError("{}.{}: expected true or false, got {}".format(
            path, key, json.dumps(v)))
    return v


def _check_keys(obj, allowed, path):
    if not isinstance(obj, dict):
        raise SpecError("{}: expected an object, got {}".format(path, json.dumps(obj)))
    for k in obj:
        if k not in allowed:
            raise SpecError("{}.{}: unknown field (expected one of {})".format(
                path, k, ", ".join(sorted(allowed))))


def _int_list(obj, key, path, minimum):
    v = obj.get(key)
    if not isinstance(v, list) or len(v) != 6:
        raise SpecError("{}.{}: expected a list of 6 integers".format(path, key))
    for i, x in enumerate(v):
        if isinstance(x, bool) or not isinstance(x, int) or x < minimum:
            raise SpecError("{}.{}[{}]: expected an integer >= {}, got {}".format(
                path, key, i, minimum, json.dumps(x)))
    return list(v)


def _expand_constructor(levels, channels, block, residual_root, cardinality):
    """DLA.__init__'s levels, as stages."""
    stages = [
        {"type": "conv", "convs": levels[0], "out": channels[0], "stride": 1,
         "dilation": 1},
        {"type": "conv", "convs": levels[1], "out": channels[1], "stride": 2,
         "dilation": 1},
    ]
    for i in range(2, 6):
        stages.append({
            "type": "tree", "levels": levels[i], "block": block,
            "out": channels[i], "stride": 2, "level_root": i >= 3,
            "root_residual": residual_root, "root_kernel_size": 1,
            "dilation": 1, "cardinality": cardinality})
    return {"out": channels[0], "kernel": 7}, stages


def _normalize_backbone(bb):
    path = "backbone"
    if not isinstance(bb, dict):
        raise SpecError("backbone: expected an object")
    if "preset" in bb:
        _check_keys(bb, {"preset"}, path)
        name = bb["preset"]
        if name not in PRESETS:
            raise SpecError("backbone.preset: unknown preset {} (expected one of {})"
                            .format(json.dumps(name), ", ".join(PRESETS)))
        return _expand_constructor(*PRESETS[name])
    if "stages" in bb:
        _check_keys(bb, {"base", "stages", "cardinality"}, path)
        card = _int(bb, "cardinality", path, 32, 1)
        base = bb.get("base", {})
        _check_keys(base, {"out", "kernel"}, "backbone.base")
        base = {"out": _int(base, "out", "backbone.base", 16, 1),
                "kernel": _int(base, "kernel", "backbone.base", 7, 1)}
        st = bb["stages"]
        if not isinstance(st, list) or len(st) != 6:
            raise SpecError("backbone.stages: expected a list of exactly 6 stages")
        stages = []
        for i, s in enumerate(st):
            p = "backbone.stages[{}]".format(i)
            if not isinstance(s, dict) or s.get("type") not in ("conv", "tree"):
                raise SpecError(p + '.type: expected "conv" or "tree"')
            if s["type"] == "conv":
                _check_keys(s, {"type", "convs", "out", "stride", "dilation"}, p)
                stages.append({
                    "type": "conv", "convs": _int(s, "convs", p, 1, 1),
                    "out": _int(s, "out", p, None, 1),
                    "stride": _int(s, "stride", p, 1, 1),
                    "dilation": _int(s, "dilation", p, 1, 1)})
            else:
                _check_keys(s, {"type", "levels", "block", "out", "stride",
                                "level_root", "root_residual",
                                "root_kernel_size", "dilation", "cardinality"}, p)
                block = s.get("block", "basic")
                if block not in BLOCKS:
                    raise SpecError("{}.block: expected one of {}, got {}".format(
                        p, ", ".join(BLOCKS), json.dumps(block)))
                stages.append({
                    "type": "tree", "levels": _int(s, "levels", p, 1, 1),
                    "block": block, "out": _int(s, "out", p, None, 1),
                    "stride": _int(s, "stride", p, 1, 1),
                    "level_root": _bool(s, "level_root", p, False),
                    "root_residual": _bool(s, "root_residual", p, False),
                    "root_kernel_size": _int(s, "root_kernel_size", p, 1, 1),
                    "dilation": _int(s, "dilation", p, 1, 1),
                    "cardinality": _int(s, "cardinality", p, card, 1)})
        return base, stages
    _check_keys(bb, {"levels", "channels", "block", "residual_root",
                     "cardinality"}, path)
    levels = _int_list(bb, "levels", path, 1)
    channels = _int_list(bb, "channels", path, 1)
    block = bb.get("block", "basic")
    if block not in BLOCKS:
        raise SpecError("backbone.block: expected one of {}, got {}".format(
            ", ".join(BLOCKS), json.dumps(block)))
    return _expand_constructor(levels, channels, block,
                               _bool(bb, "residual_root", path, False),
                               _int(bb, "cardinality", path, 32, 1))


def _check_stage_channels(stages):
    """Channel constraints that PyTorch would otherwise report deep inside
    a constructor (grouped convs) or only at run time."""
    for i, s in enumerate(stages):
        if s["type"] != "tree":
            continue
        p = "backbone.stages[{}]".format(i)
        if s["block"] == "bottleneck" and s["out"] // BOTTLENECK_EXPANSION < 1:
            raise SpecError(p + ".out: a bottleneck tree needs out >= 2")
        if s["block"] == "bottleneckx":
            bottle = s["out"] * s["cardinality"] // 32
            if bottle < 1 or bottle % s["cardinality"]:
                raise SpecError(
                    "{}.out: bottleneckx with cardinality {} needs out * {} / 32 = {} "
                    "to be a positive multiple of the cardinality".format(
                        p, s["cardinality"], s["cardinality"], bottle))


def normalize_spec(spec):
    """Validates a model JSON (a dict) and returns the normalized form:
    {input_shape, precision, base, stages, neck, heads, classifier}."""
    if not isinstance(spec, dict):
        raise SpecError("model: expected a JSON object")
    inp = spec.get("input", {})
    shape = inp.get("shape") if isinstance(inp, dict) else None
    if (not isinstance(shape, list) or len(shape) != 4
            or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 1
                       for d in shape)):
        raise SpecError("input.shape: expected [N, C, H, W], 4 positive integers")
    precision = spec.get("precision", "f32")
    if "backbone" not in spec:
        raise SpecError("backbone: missing")
    base, stages = _normalize_backbone(spec["backbone"])
    _check_stage_channels(stages)

    neck = spec.get("neck")
    heads = spec.get("heads")
    out = {"input_shape": list(shape), "precision": precision, "base": base,
           "stages": stages, "neck": None, "heads": None, "classifier": None}
    channels = [s["out"] for s in stages]

    if isinstance(heads, dict) and "classifier" in heads:
        _check_keys(heads, {"classifier"}, "heads")
        if neck is not None:
            raise SpecError("heads.classifier: a classifier requires neck to be "
                            "null or absent")
        c = heads["classifier"]
        _check_keys(c, {"num_classes", "pool_size"}, "heads.classifier")
        out["classifier"] = (_int(c, "num_classes", "heads.classifier", 1000, 1),
                             _int(c, "pool_size", "heads.classifier", 7, 1))
        return out

    if neck is None:
        if heads is not None:
            raise SpecError("heads: detection heads need a neck "
                            "(neck is null or absent)")
        return out

    _check_keys(neck, {"down_ratio", "last_level", "out_channel"}, "neck")
    down_ratio = _int(neck, "down_ratio", "neck", 4, 1)
    if down_ratio not in (2, 4, 8, 16):
        raise SpecError("neck.down_ratio: expected 2, 4, 8 or 16, got {}".format(
            down_ratio))
    first = int(math.log2(down_ratio))
    last = _int(neck, "last_level", "neck", 5, 0)
    if not first < last <= 6:
        raise SpecError("neck.last_level: expected {} < last_level <= 6 "
                        "(log2(down_ratio) = {}), got {}".format(first, first, last))
    out_channel = _int(neck, "out_channel", "neck", 0, 0)
    # IDAUp adds the up-sampled maps (out_channel channels) to y[0], which is
    # never projected and has channels[first] channels, and the heads read
    # channels[first] channels: any other value fails in PyTorch.
    if (last - first > 1 and out_channel not in (0, channels[first])):
        raise SpecError("neck.out_channel: must be 0 or channels[{}] = {} "
                        "(IDAUp adds its output to the unprojected level-{} map), "
                        "got {}".format(first, channels[first], first, out_channel))
    # DLAUp/IDAUp up-sample level i+1 by exactly 2 to add it to level i.
    for i in range(first + 1, 6):
        if stages[i]["stride"] != 2:
            raise SpecError("backbone.stages[{}].stride: the neck needs stride 2 "
                            "for every level after level {}, got {}".format(
                                i, first, stages[i]["stride"]))
    out["neck"] = {"down_ratio": down_ratio, "first_level": first,
                   "last_level": last, "out_channel": out_channel}

    if heads is None:
        raise SpecError("heads: a model with a neck needs heads")
    _check_keys(heads, {"head_conv", "final_kernel", "outputs"}, "heads")
    outputs = heads.get("outputs")
    if not isinstance(outputs, dict) or not outputs:
        raise SpecError("heads.outputs: expected a non-empty object name -> classes")
    for name, classes in outputs.items():
        if (not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name)
                or name in ("base", "dla_up", "ida_up", "heads")):
            raise SpecError("heads.outputs.{}: not a usable head name".format(name))
        _int(outputs, name, "heads.outputs", None, 1)
    out["heads"] = {"head_conv": _int(heads, "head_conv", "heads", 256, 0),
                    "final_kernel": _int(heads, "final_kernel", "heads", 1, 1),
                    "outputs": collections.OrderedDict(outputs)}
    return out
