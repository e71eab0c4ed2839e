# RUN: %python %s
# REQUIRES: torch
"""python/dla_torch.py reads the model JSON forms of DESIGN.md the way the
PyTorch constructors define them: `//` comments, presets (parameter counts of
the published DLA classifiers), constructor fields and explicit stages that
expand to the same network, the classifier and backbone-only forms, heads
without head_conv, and clear errors for descriptions PyTorch cannot run."""

import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "python"))

import torch  # noqa: E402

import dla_torch  # noqa: E402

failures = []


def check(ok, what):
    print("{}: {}".format("ok" if ok else "FAIL", what))
    if not ok:
        failures.append(what)


def model_json(backbone, neck=None, heads=None, shape=(1, 3, 64, 64)):
    spec = {"input": {"shape": list(shape)}, "backbone": backbone}
    if neck is not None:
        spec["neck"] = neck
    if heads is not None:
        spec["heads"] = heads
    return spec


NECK = {"down_ratio": 4, "last_level": 5, "out_channel": 0}
HEADS = {"head_conv": 32, "final_kernel": 1, "outputs": {"hm": 3, "wh": 2}}

# 1. `//` comments, also next to strings that contain "//".
with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "m.json")
    with open(path, "w") as f:
        f.write('// DLASeg-34\n{"name": "a // b \\" // c", // trailing\n'
                ' "input": {"shape": [1, 3, 64, 64]},\n'
                ' "backbone": {"preset": "dla34"}, "neck": null}\n')
    spec = dla_torch.load_spec(path)
    check(spec["name"] == 'a // b " // c' and spec["neck"] is None,
          "// comments stripped outside strings only")
    with open(path, "w") as f:
        f.write('{"input": {"shape": [1, 3, 64, 64]},\n "backbone": }\n')
    try:
        dla_torch.load_spec(path)
        check(False, "invalid JSON is reported")
    except dla_torch.SpecError as e:
        check(":2:" in str(e), "invalid JSON is reported with its line: {}".format(e))

# 2. Presets: parameter counts of the ImageNet classifiers. The published
# counts (timm's DLA, whose trees drop the dead outer `project` of trees with
# levels > 1) are matched once those projects are left out.
PUBLISHED_M = {"dla34": 15.74, "dla46_c": 1.30, "dla46x_c": 1.07, "dla60x_c": 1.32,
               "dla60": 22.04, "dla60x": 17.35, "dla102": 33.27, "dla102x": 26.31,
               "dla102x2": 41.28, "dla169": 53.39}
for name, millions in PUBLISHED_M.items():
    m, outs = dla_torch.build_model(model_json(
        {"preset": name}, heads={"classifier": {"num_classes": 1000, "pool_size": 7}},
        shape=(1, 3, 224, 224)))
    dead = sum(p.numel() for t in m.modules()
               if isinstance(t, dla_torch.Tree) and t.levels > 1 and t.project is not None
               for p in t.project.parameters())
    live = sum(p.numel() for p in m.parameters()) - dead
    check(round(live / 1e6, 2) == millions,
          "{}: {:,} parameters without dead projects = {}M".format(name, live, millions))
    if name == "dla102x2":
        conv2 = m.level3.tree1.tree1.tree1.conv2
        check(conv2.groups == 64 and conv2.in_channels == 2 * 256,
              "dla102x2: cardinality 64, bottle_planes = planes * 64 / 32")
    del m

# 3. Constructor fields and explicit stages expand to the preset.
stages = [{"type": "conv", "convs": 1, "out": 16},
          {"type": "conv", "convs": 1, "out": 32, "stride": 2},
          {"type": "tree", "levels": 1, "out": 64, "stride": 2},
          {"type": "tree", "levels": 2, "out": 128, "stride": 2, "level_root": True},
          {"type": "tree", "levels": 2, "out": 256, "stride": 2, "level_root": True},
          {"type": "tree", "levels": 1, "out": 512, "stride": 2, "level_root": True}]
forms = {
    "preset": {"preset": "dla34"},
    "constructor": {"levels": [1, 1, 1, 2, 2, 1], "channels": [16, 32, 64, 128, 256, 512],
                    "block": "basic", "residual_root": False},
    "stages": {"base": {"out": 16, "kernel": 7}, "stages": stages},
}
x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(1))
results = {}
for form, bb in forms.items():
    m, outs = dla_torch.build_model(model_json(bb, NECK, HEADS))
    dla_torch.randomize(m, 7, calibration_input=x)
    with torch.no_grad():
        results[form] = ([(k, tuple(v.shape)) for k, v in m.state_dict().items()], m(x))
    check(outs == ["hm", "wh"], "{} form: outputs {}".format(form, outs))
for form in ("constructor", "stages"):
    same_keys = results[form][0] == results["preset"][0]
    same_out = all(torch.equal(results[form][1][k], results["preset"][1][k]) for k in ("hm", "wh"))
    check(same_keys and same_out, "{} form = dla34 preset (keys, shapes, outputs)".format(form))

# 4. Classifier: plain DLA keys, output `logits`; backbone only: six levels.
m, outs = dla_torch.build_model(model_json({"preset": "dla34"}, heads={
    "classifier": {"num_classes": 10, "pool_size": 7}}, shape=(2, 3, 224, 224)))
keys = list(m.state_dict())
check(keys[0] == "base_layer.0.weight" and "fc.weight" in keys and
      "level2.tree1.conv1.weight" in keys and not any(k.startswith("base.") for k in keys),
      "classifier keys have no base. prefix (base_layer.0.weight ... fc.weight)")
with torch.no_grad():
    y = m(torch.zeros(2, 3, 224, 224))
check(outs == ["logits"] and list(y["logits"].shape) == [2, 10],
      "classifier output logits [2, 10] at 224x224")
m, outs = dla_torch.build_model(model_json({"preset": "dla34"}))
with torch.no_grad():
    y = m(torch.zeros(1, 3, 64, 64))
check(outs == ["level{}".format(i) for i in range(6)] and
      [list(v.shape)[1:] for v in y.values()] ==
      [[16, 64, 64], [32, 32, 32], [64, 16, 16], [128, 8, 8], [256, 4, 4], [512, 2, 2]],
      "backbone only: level0..level5 with DLA-34 channels and strides")
check(list(m.state_dict())[0] == "base_layer.0.weight" and
      not any(k.startswith("base.") for k in m.state_dict()),
      "backbone only: plain DLA keys, no base. prefix (as the frontend names them)")

# 5. head_conv 0: one conv per head; out_channel = channels[first_level] ok.
m, outs = dla_torch.build_model(model_json(
    {"preset": "dla34"}, {"down_ratio": 4, "last_level": 5, "out_channel": 64},
    {"head_conv": 0, "final_kernel": 3, "outputs": {"hm": 4}}))
sd = m.state_dict()
check("hm.weight" in sd and list(sd["hm.weight"].shape) == [4, 64, 3, 3] and "hm.0.weight" not in sd,
      "head_conv 0: single conv hm.weight [4, 64, 3, 3]")

# 6. Descriptions PyTorch cannot run are refused with the JSON path.
bad = [
    (model_json({"preset": "dla35"}), "backbone.preset"),
    (model_json({"levels": [1, 1, 1, -2, 2, 1], "channels": [16, 32, 64, 128, 256, 512]}),
     "backbone.levels[3]"),
    (model_json({"preset": "dla34"}, dict(NECK, out_channel=32), HEADS), "neck.out_channel"),
    (model_json({"preset": "dla34"}, dict(NECK, last_level=2), HEADS), "neck.last_level"),
    (model_json({"preset": "dla34"}, dict(NECK, down_ratio=3), HEADS), "neck.down_ratio"),
    (model_json({"preset": "dla34"}, NECK, None), "heads"),
    (model_json({"preset": "dla34"}, None, HEADS), "heads"),
    (model_json({"preset": "dla34"}, NECK, {"classifier": {"num_classes": 3}}), "heads.classifier"),
    (model_json({"base": {"out": 16}, "stages": stages[:5]}), "backbone.stages"),
    (model_json({"base": {"out": 16}, "stages": stages[:4] + [dict(stages[4], stride=1)] + stages[5:]},
                NECK, HEADS), "backbone.stages[4].stride"),
    (model_json({"base": {"out": 16}, "stages": stages[:2] + [dict(stages[2], kind=1)] + stages[3:]}),
     "backbone.stages[2].kind"),
    (model_json({"levels": [1, 1, 1, 2, 2, 1], "channels": [16, 32, 64, 128, 256, 48],
                 "block": "bottleneckx"}), "backbone.stages[5].out"),
]
for spec, path in bad:
    try:
        dla_torch.build_model(spec)
        check(False, "refuses {}".format(path))
    except dla_torch.SpecError as e:
        check(str(e).startswith(path), "refuses: {}".format(e))

if failures:
    print("{} check(s) failed".format(len(failures)))
    sys.exit(1)
print("all checks passed")
