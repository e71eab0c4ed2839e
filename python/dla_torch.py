"""The independent PyTorch oracle for dlac: a dlac model JSON -> torch.nn.Module.

The modules below follow the DLA authors' PyTorch code (`dla.py`: BasicBlock,
Bottleneck, BottleneckX, Root, Tree, DLA) and CenterNet's `pose_dla_dcn.py`
(DLAUp, DeformConv/DCN) line for line, so that

  * `model.state_dict()` has exactly CenterNet's keys and shapes
    (`base.level3.tree1.tree1.conv1.weight`, `dla_up.ida_0.proj_1.conv.
    conv_offset_mask.weight`, `hm.0.weight`, ...), and
  * `model(x)` computes what CenterNet computes (eval mode: BatchNorm with
    running statistics, eps 1e-5; DCNv2 through torchvision's deform_conv2d).

Nothing here is shared with the compiler: this file is the reference the
compiled kernels are compared against.

Model JSON (see DESIGN.md, "The model description (JSON)"); `//` line comments
are allowed. Backbone forms:

  {"preset": "dla34"}                     one of PRESETS below
  {"levels": [6 ints], "channels": [6 ints], "block": "basic"|"bottleneck"|
   "bottleneckx", "residual_root": bool, "cardinality": int}
  {"base": {"out": 16, "kernel": 7}, "stages": [six stages]}

Presets and the constructor form expand to stages the way DLA.__init__ builds
its levels: level0 = conv level (levels[0] convs, stride 1), level1 = conv
level (levels[1] convs, stride 2), level2..5 = Tree(levels[i], stride 2,
level_root = (i >= 3), root_residual = residual_root), base kernel 7.

Defaults of the explicit stage fields are the defaults of the PyTorch
constructors (`_make_conv_level`, `Tree.__init__`), not the position-dependent
values DLA passes:

  conv stage: convs 1, stride 1, dilation 1                       ("out" required)
  tree stage: levels 1, block "basic", stride 1, level_root false,
              root_residual false, root_kernel_size 1, dilation 1,
              cardinality = backbone.cardinality or 32              ("out" required)
  base:       out 16, kernel 7 (stride 1, padding kernel // 2, no bias)

`root_kernel_size` only sets the *padding* of the Root's 1x1 conv, exactly as
in the seed (`nn.Conv2d(in, out, 1, padding=(k - 1) // 2)`): k = 3 pads a 1x1
conv by one pixel and grows the map by 2, which PyTorch then rejects at the
next residual add; the oracle reproduces that, it does not "fix" it.

The first conv's input channel count is input.shape[1] (3 for images).

Outputs (forward returns an OrderedDict name -> tensor, in this order):
  neck given      -> one output per head, in JSON order (CenterNet DLASeg)
  classifier      -> "logits" (plain DLA: avgpool + 1x1 fc + flatten; its
                     state-dict keys have no "base." prefix)
  neither         -> "level0" ... "level5" (the DLA levels; keys without
                     "base." too: only the CenterNet model nests the DLA)
"""

import collections
import functools
import json
import math
import re

import torch
import torch.nn as nn
import torchvision

__all__ = [
    "PRESETS", "SpecError", "strip_json_comments", "load_spec",
    "normalize_spec", "build_model", "randomize", "count_parameters",
    "dcn_modules", "dcn_offset_stats", "calibrate", "CLASSIFIER_OUTPUT",
]

BN_EPS = 1e-5
# CenterNet uses momentum 0.1 everywhere; it does not matter in eval mode.
BN_MOMENTUM = 0.1
CLASSIFIER_OUTPUT = "logits"

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


def BatchNorm(c):
    return nn.BatchNorm2d(c, eps=BN_EPS, momentum=BN_MOMENTUM)


# --------------------------------------------------------------------------
# Blocks, Root, Tree, DLA (seed sections 3.1-3.4)
# --------------------------------------------------------------------------

class BasicBlock(nn.Module):
    def __init__(self, inplanes, planes, stride=1, dilation=1, cardinality=32):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, kernel_size=3, stride=stride,
                               padding=dilation, bias=False, dilation=dilation)
        self.bn1 = BatchNorm(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=1,
                               padding=dilation, bias=False, dilation=dilation)
        self.bn2 = BatchNorm(planes)
        self.stride = stride

    def forward(self, x, residual=None):
        if residual is None:
            residual = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += residual
        return self.relu(out)


class Bottleneck(nn.Module):
    expansion = 2

    def __init__(self, inplanes, planes, stride=1, dilation=1, cardinality=32):
        super().__init__()
        bottle_planes = planes // Bottleneck.expansion
        self.conv1 = nn.Conv2d(inplanes, bottle_planes, kernel_size=1, bias=False)
        self.bn1 = BatchNorm(bottle_planes)
        self.conv2 = nn.Conv2d(bottle_planes, bottle_planes, kernel_size=3,
                               stride=stride, padding=dilation, bias=False,
                               dilation=dilation)
        self.bn2 = BatchNorm(bottle_planes)
        self.conv3 = nn.Conv2d(bottle_planes, planes, kernel_size=1, bias=False)
        self.bn3 = BatchNorm(planes)
        self.relu = nn.ReLU(inplace=True)
        self.stride = stride

    def forward(self, x, residual=None):
        if residual is None:
            residual = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        out += residual
        return self.relu(out)


class BottleneckX(nn.Module):
    """ResNeXt block; `cardinality` is per instance here (a class attribute
    in CenterNet). bottle_planes = planes * cardinality // 32."""
    expansion = 2

    def __init__(self, inplanes, planes, stride=1, dilation=1, cardinality=32):
        super().__init__()
        bottle_planes = planes * cardinality // 32
        self.conv1 = nn.Conv2d(inplanes, bottle_planes, kernel_size=1, bias=False)
        self.bn1 = BatchNorm(bottle_planes)
        self.conv2 = nn.Conv2d(bottle_planes, bottle_planes, kernel_size=3,
                               stride=stride, padding=dilation, bias=False,
                               dilation=dilation, groups=cardinality)
        self.bn2 = BatchNorm(bottle_planes)
        self.conv3 = nn.Conv2d(bottle_planes, planes, kernel_size=1, bias=False)
        self.bn3 = BatchNorm(planes)
        self.relu = nn.ReLU(inplace=True)
        self.stride = stride

    def forward(self, x, residual=None):
        if residual is None:
            residual = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        out += residual
        return self.relu(out)


BLOCK_CLASSES = {"basic": BasicBlock, "bottleneck": Bottleneck,
                 "bottleneckx": BottleneckX}


class Root(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, residual):
        super().__init__()
        # Always a 1x1 conv; kernel_size only changes the padding (seed code).
        self.conv = nn.Conv2d(in_channels, out_channels, 1, stride=1, bias=False,
                              padding=(kernel_size - 1) // 2)
        self.bn = BatchNorm(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.residual = residual

    def forward(self, *x):
        children = x
        x = self.bn(self.conv(torch.cat(x, 1)))
        if self.residual:
            x += children[0]
        return self.relu(x)


class Tree(nn.Module):
    def __init__(self, levels, block, in_channels, out_channels, stride=1,
                 level_root=False, root_dim=0, root_kernel_size=1,
                 dilation=1, root_residual=False):
        super().__init__()
        if root_dim == 0:
            root_dim = 2 * out_channels
        if level_root:
            root_dim += in_channels
        if levels == 1:
            self.tree1 = block(in_channels, out_channels, stride, dilation=dilation)
            self.tree2 = block(out_channels, out_channels, 1, dilation=dilation)
        else:
            self.tree1 = Tree(levels - 1, block, in_channels, out_channels,
                              stride, root_dim=0,
                              root_kernel_size=root_kernel_size,
                              dilation=dilation, root_residual=root_residual)
            self.tree2 = Tree(levels - 1, block, out_channels, out_channels,
                              root_dim=root_dim + out_channels,
                              root_kernel_size=root_kernel_size,
                              dilation=dilation, root_residual=root_residual)
        if levels == 1:
            self.root = Root(root_dim, out_channels, root_kernel_size,
                             root_residual)
        self.level_root = level_root
        self.root_dim = root_dim
        self.downsample = None
        self.project = None
        self.levels = levels
        if stride > 1:
            self.downsample = nn.MaxPool2d(stride, stride=stride)
        if in_channels != out_channels:
            # With levels > 1 this projection is computed but its result is
            # discarded (tree1 recomputes its own residual); kept so that the
            # state dict and the executed MACs match CenterNet.
            self.project = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=1,
                          bias=False),
                BatchNorm(out_channels))

    def forward(self, x, residual=None, children=None):
        children = [] if children is None else children
        bottom = self.downsample(x) if self.downsample else x
        residual = self.project(bottom) if self.project else bottom
        if self.level_root:
            children.append(bottom)
        x1 = self.tree1(x, residual)
        if self.levels == 1:
            x2 = self.tree2(x1)
            x = self.root(x2, x1, *children)
        else:
            children.append(x1)
            x = self.tree2(x1, children=children)
        return x


def _make_conv_level(inplanes, planes, convs, stride=1, dilation=1):
    modules = []
    for i in range(convs):
        modules.extend([
            nn.Conv2d(inplanes, planes, kernel_size=3,
                      stride=stride if i == 0 else 1,
                      padding=dilation, bias=False, dilation=dilation),
            BatchNorm(planes),
            nn.ReLU(inplace=True)])
        inplanes = planes
    return nn.Sequential(*modules)


class DLA(nn.Module):
    """DLA built from normalized stages (see normalize_spec).

    With `classifier` = (num_classes, pool_size) it is the ImageNet
    classifier (avgpool + fc + flatten); otherwise forward returns the list of
    the six level outputs (DLA's return_levels=True, as DLASeg uses it).
    """

    def __init__(self, in_channels, base, stages, classifier=None):
        super().__init__()
        self.channels = [s["out"] for s in stages]
        self.base_layer = nn.Sequential(
            nn.Conv2d(in_channels, base["out"], kernel_size=base["kernel"],
                      stride=1, padding=base["kernel"] // 2, bias=False),
            BatchNorm(base["out"]),
            nn.ReLU(inplace=True))
        cin = base["out"]
        for i, s in enumerate(stages):
            if s["type"] == "conv":
                level = _make_conv_level(cin, s["out"], s["convs"], s["stride"],
                                         s["dilation"])
            else:
                block = functools.partial(BLOCK_CLASSES[s["block"]],
                                          cardinality=s["cardinality"])
                level = Tree(s["levels"], block, cin, s["out"], s["stride"],
                             level_root=s["level_root"],
                             root_kernel_size=s["root_kernel_size"],
                             dilation=s["dilation"],
                             root_residual=s["root_residual"])
            setattr(self, "level{}".format(i), level)
            cin = s["out"]
        self.classifier = classifier is not None
        if self.classifier:
            num_classes, pool_size = classifier
            self.avgpool = nn.AvgPool2d(pool_size)
            self.fc = nn.Conv2d(self.channels[-1], num_classes, kernel_size=1,
                                stride=1, padding=0, bias=True)

    def forward(self, x):
        y = []
        x = self.base_layer(x)
        for i in range(6):
            x = getattr(self, "level{}".format(i))(x)
            y.append(x)
        if not self.classifier:
            return y
        x = self.fc(self.avgpool(x))
        return x.view(x.size(0), -1)


# --------------------------------------------------------------------------
# DCN, DeformConv, IDAUp, DLAUp, DLASeg (CenterNet pose_dla_dcn.py)
# --------------------------------------------------------------------------

class DCN(nn.Module):
    """DCNv2 (modulated deformable conv) with its offset/mask predictor.

    Parameter order (weight, bias, then conv_offset_mask) is DCNv2's, so the
    state-dict order matches CenterNet's.
    """

    def __init__(self, in_channels, out_channels, kernel_size=3, stride=1,
                 padding=1, dilation=1, deformable_groups=1):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = (kernel_size, kernel_size)
        self.stride, self.padding, self.dilation = stride, padding, dilation
        self.deformable_groups = deformable_groups
        self.weight = nn.Parameter(
            torch.empty(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.empty(out_channels))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        nn.init.zeros_(self.bias)
        # Predicts 2*dg*k*k offsets and dg*k*k mask logits per output pixel.
        self.conv_offset_mask = nn.Conv2d(
            in_channels, deformable_groups * 3 * kernel_size * kernel_size,
            kernel_size=kernel_size, stride=stride, padding=padding, bias=True)
        nn.init.zeros_(self.conv_offset_mask.weight)
        nn.init.zeros_(self.conv_offset_mask.bias)

    def offset_mask(self, x):
        """(offset, mask) exactly as DCN.forward computes them."""
        out = self.conv_offset_mask(x)
        o1, o2, m = torch.chunk(out, 3, dim=1)
        return torch.cat((o1, o2), dim=1), torch.sigmoid(m)

    def forward(self, x):
        offset, mask = self.offset_mask(x)
        return torchvision.ops.deform_conv2d(
            x, offset, self.weight, self.bias, stride=self.stride,
            padding=self.padding, dilation=self.dilation, mask=mask)


class DeformConv(nn.Module):
    def __init__(self, chi, cho):
        super().__init__()
        # Registered before `conv`, hence `actf.0.*` precedes `conv.*` in the
        # state dict, although it runs after it.
        self.actf = nn.Sequential(BatchNorm(cho), nn.ReLU(inplace=True))
        self.conv = DCN(chi, cho, kernel_size=3, stride=1, padding=1,
                        dilation=1, deformable_groups=1)

    def forward(self, x):
        return self.actf(self.conv(x))


def fill_up_weights(up):
    """CenterNet's bilinear initialisation (randomize() overwrites it)."""
    w = up.weight.data
    f = math.ceil(w.size(2) / 2)
    c = (2 * f - 1 - f % 2) / (2. * f)
    for i in range(w.size(2)):
        for j in range(w.size(3)):
            w[0, 0, i, j] = (1 - math.fabs(i / f - c)) * (1 - math.fabs(j / f - c))
    for c in range(1, w.size(0)):
        w[c, 0, :, :] = w[0, 0, :, :]


class IDAUp(nn.Module):
    def __init__(self, o, channels, up_f):
        super().__init__()
        for i in range(1, len(channels)):
            c = channels[i]
            f = int(up_f[i])
            proj = DeformConv(c, o)
            node = DeformConv(o, o)
            up = nn.ConvTranspose2d(o, o, f * 2, stride=f, padding=f // 2,
                                    output_padding=0, groups=o, bias=False)
            fill_up_weights(up)
            setattr(self, "proj_" + str(i), proj)
            setattr(self, "up_" + str(i), up)
            setattr(self, "node_" + str(i), node)

    def forward(self, layers, startp, endp):
        for i in range(startp + 1, endp):
            upsample = getattr(self, "up_" + str(i - startp))
            project = getattr(self, "proj_" + str(i - startp))
            layers[i] = upsample(project(layers[i]))
            node = getattr(self, "node_" + str(i - startp))
            layers[i] = node(layers[i] + layers[i - 1])


class DLAUp(nn.Module):
    def __init__(self, startp, channels, scales, in_channels=None):
        super().__init__()
        self.startp = startp
        # CenterNet aliases in_channels to the caller's list and mutates it;
        # a copy taken before any mutation is equivalent.
        in_channels = list(channels if in_channels is None else in_channels)
        self.channels = channels
        channels = list(channels)
        scales = list(int(s) for s in scales)
        for i in range(len(channels) - 1):
            j = -i - 2
            setattr(self, "ida_{}".format(i),
                    IDAUp(channels[j], in_channels[j:],
                          [s // scales[j] for s in scales[j:]]))
            # After ida_i, every map from j on has channels[j] channels and
            # the resolution of map j.
            scales[j + 1:] = [scales[j]] * len(scales[j + 1:])
            in_channels[j + 1:] = [channels[j] for _ in channels[j + 1:]]

    def forward(self, layers):
        out = [layers[-1]]
        for i in range(len(layers) - self.startp - 1):
            ida = getattr(self, "ida_{}".format(i))
            ida(layers, len(layers) - i - 2, len(layers))
            out.insert(0, layers[-1])
        return out


class DLASeg(nn.Module):
    def __init__(self, base, heads, down_ratio, final_kernel, last_level,
                 head_conv, out_channel=0):
        super().__init__()
        assert down_ratio in [2, 4, 8, 16]
        self.first_level = int(math.log2(down_ratio))
        self.last_level = last_level
        self.base = base
        channels = self.base.channels
        scales = [2 ** i for i in range(len(channels[self.first_level:]))]
        self.dla_up = DLAUp(self.first_level, channels[self.first_level:], scales)
        if out_channel == 0:
            out_channel = channels[self.first_level]
        self.ida_up = IDAUp(out_channel, channels[self.first_level:self.last_level],
                            [2 ** i for i in range(self.last_level - self.first_level)])
        self.heads = dict(heads)
        for head, classes in self.heads.items():
            if head_conv > 0:
                fc = nn.Sequential(
                    nn.Conv2d(channels[self.first_level], head_conv,
                              kernel_size=3, padding=1, bias=True),
                    nn.ReLU(inplace=True),
                    nn.Conv2d(head_conv, classes, kernel_size=final_kernel,
                              stride=1, padding=final_kernel // 2, bias=True))
            else:
                fc = nn.Conv2d(channels[self.first_level], classes,
                               kernel_size=final_kernel, stride=1,
                               padding=final_kernel // 2, bias=True)
            self.__setattr__(head, fc)

    def forward(self, x):
        x = self.base(x)
        x = self.dla_up(x)
        y = []
        for i in range(self.last_level - self.first_level):
            y.append(x[i].clone())
        self.ida_up(y, 0, len(y))
        z = collections.OrderedDict()
        for head in self.heads:
            z[head] = self.__getattr__(head)(y[-1])
        return z


class DLALevels(DLA):
    """Backbone only: the six level maps of a plain DLA (keys without
    `base.`, as in DLA's own checkpoints and the dlac frontend)."""

    def forward(self, x):
        return collections.OrderedDict(
            ("level{}".format(i), t) for i, t in enumerate(super().forward(x)))


class DLAClassifier(DLA):
    """Plain DLA classifier (keys without `base.`), output `logits`."""

    def forward(self, x):
        return collections.OrderedDict([(CLASSIFIER_OUTPUT, super().forward(x))])


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
        if s["block"] == "bottleneck" and s["out"] // Bottleneck.expansion < 1:
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


def build_model(spec, input_shape=None):
    """Builds the model of a model JSON dict.

    Returns (model in eval mode, output names). `input_shape` overrides
    input.shape (only its channel count affects the model).
    """
    norm = normalize_spec(spec)
    if input_shape is not None:
        norm["input_shape"] = list(input_shape)
    in_ch = norm["input_shape"][1]
    if norm["classifier"] is not None:
        model = DLAClassifier(in_ch, norm["base"], norm["stages"],
                              classifier=norm["classifier"])
        names = [CLASSIFIER_OUTPUT]
    elif norm["neck"] is None:
        model = DLALevels(in_ch, norm["base"], norm["stages"])
        names = ["level{}".format(i) for i in range(6)]
    else:
        nk, hd = norm["neck"], norm["heads"]
        model = DLASeg(DLA(in_ch, norm["base"], norm["stages"]),
                       hd["outputs"], nk["down_ratio"], hd["final_kernel"],
                       nk["last_level"], hd["head_conv"], nk["out_channel"])
        names = list(hd["outputs"])
    model.eval()
    return model, names


# --------------------------------------------------------------------------
# Random weights
# --------------------------------------------------------------------------

# Scales of the random weights (see randomize). The calibration pass gives
# every conv / transposed conv / DCN output (without bias) RMS
# ACTIVATION_RMS. DCN offsets = a per-channel constant (the conv_offset_mask
# bias, ~N(0, OFFSET_BIAS_STD) pixels) + a part that varies with the pixel
# (RMS OFFSET_VARYING_RMS pixels); mask logits likewise.
ACTIVATION_RMS = 1.0
OFFSET_BIAS_STD = 2.0
OFFSET_VARYING_RMS = 0.25
MASK_BIAS_STD = 1.0
MASK_VARYING_RMS = 0.5


def _normal(shape, std, gen):
    return torch.randn(shape, generator=gen) * std


def _uniform(shape, lo, hi, gen):
    return torch.rand(shape, generator=gen) * (hi - lo) + lo


def _offset_channels(dcn):
    return 2 * dcn.deformable_groups * dcn.kernel_size[0] * dcn.kernel_size[1]


@torch.no_grad()
def randomize(model, seed, calibration_input=None):
    """Overwrites every parameter and BN statistic with seeded random values.

    Draws (they depend only on `seed` and the module order):
    * Conv / DCN / ConvTranspose weights ~ N(0, sqrt(2 / fan_in)), fan_in =
      in/groups * (taps per output pixel): kh*kw for a conv, (kh/s)*(kw/s) = 4
      for the up-sampling ConvTranspose2d. The up-sampling kernels are random
      rather than bilinear so that a flipped kernel is detected (the bilinear
      kernel is symmetric).
    * Conv / DCN biases ~ N(0, 0.1).
    * BatchNorm: weight ~ U(0.5, 1.5), bias ~ N(0, 0.1), running_mean ~
      N(0, 0.1), running_var ~ U(0.5, 1.5), so each channel has its own affine
      map and a wrong channel order or a missing BN shows.
    * DCN conv_offset_mask: bias ~ N(0, OFFSET_BIAS_STD = 2) pixels on the
      offset rows, N(0, MASK_BIAS_STD = 1) on the mask rows; weight ~
      N(0, 1 / sqrt(fan_in)) * OFFSET_VARYING_RMS (0.25) on the offset rows,
      * MASK_VARYING_RMS (0.5) on the mask rows (for an input of RMS 1).
      So offsets are a few pixels, mostly constant per kernel point and
      direction, plus a quarter pixel that varies from pixel to pixel. Why the
      split: the bias part moves many sampling points off the map and
      between pixels (the bilinear border cases of DCNv2), at no cost in
      conditioning; the varying part catches a misplaced per-pixel offset or
      mask index, but it is what makes the network sensitive: the offsets of
      each DCN depend on the output of the previous one, and with 2-pixel
      varying offsets a 1e-7 rounding difference grows to ~3% at the heads of
      DLASeg-34 (f32 vs f64 PyTorch), which no parity check could tolerate.
      With 0.25 pixel the f32 outputs stay within ~1e-5 of f64 (relative to
      the largest output value; see test/python/make_parity_case.py).

    Calibration (when `calibration_input` is given; make_parity_case.py always
    gives its input): one forward pass in which each conv, transposed conv and
    DCN rescales its weight, by one scalar per layer, so that its output
    without the bias has RMS ACTIVATION_RMS, and returns the rescaled output
    so that the layers after it see the final values (LSUV-style). The
    offset/mask predictors are rescaled so that their varying parts have RMS
    OFFSET_VARYING_RMS and MASK_VARYING_RMS on the actual DCN inputs.
    Why: the BN statistics above are not the statistics of the activations,
    so BN does not normalise; with He init alone every residual add doubles
    the variance, and the level-5 maps reach 1e2 (dla34) to 1e13 (dla169),
    which makes a relative comparison meaningless and overflows f16. With
    calibration every activation stays O(1) and the offsets keep their
    intended size at every level.
    """
    gen = torch.Generator().manual_seed(int(seed))
    offset_convs = {id(m.conv_offset_mask) for m in model.modules()
                    if isinstance(m, DCN)}
    for m in model.modules():
        if id(m) in offset_convs:
            continue  # drawn with its DCN, below
        if isinstance(m, DCN):
            fan = m.in_channels * m.kernel_size[0] * m.kernel_size[1]
            m.weight.copy_(_normal(m.weight.shape, math.sqrt(2.0 / fan), gen))
            m.bias.copy_(_normal(m.bias.shape, 0.1, gen))
            om = m.conv_offset_mask
            n_off = _offset_channels(m)
            om.weight.copy_(_normal(om.weight.shape, 1.0 / math.sqrt(fan), gen))
            om.weight[:n_off] *= OFFSET_VARYING_RMS
            om.weight[n_off:] *= MASK_VARYING_RMS
            om.bias.copy_(_normal(om.bias.shape, 1.0, gen))
            om.bias[:n_off] *= OFFSET_BIAS_STD
            om.bias[n_off:] *= MASK_BIAS_STD
        elif isinstance(m, nn.Conv2d):
            fan = (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]
            m.weight.copy_(_normal(m.weight.shape, math.sqrt(2.0 / fan), gen))
            if m.bias is not None:
                m.bias.copy_(_normal(m.bias.shape, 0.1, gen))
        elif isinstance(m, nn.ConvTranspose2d):
            taps = max(1, (m.kernel_size[0] // m.stride[0]) *
                       (m.kernel_size[1] // m.stride[1]))
            fan = (m.in_channels // m.groups) * taps
            m.weight.copy_(_normal(m.weight.shape, math.sqrt(2.0 / fan), gen))
            if m.bias is not None:
                m.bias.copy_(_normal(m.bias.shape, 0.1, gen))
        elif isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            m.weight.copy_(_uniform(c, 0.5, 1.5, gen))
            m.bias.copy_(_normal(c, 0.1, gen))
            m.running_mean.copy_(_normal(c, 0.1, gen))
            m.running_var.copy_(_uniform(c, 0.5, 1.5, gen))
    if calibration_input is not None:
        calibrate(model, calibration_input)
    return model


def _rescale(module, out, rows_and_targets):
    """Scales module.weight's output-channel ranges so that the pre-bias
    output `out` has the target RMS on each range; returns the new output.
    Relies on every calibrated op being linear in its weight."""
    bias = getattr(module, "bias", None)
    core = out - bias.view(1, -1, 1, 1) if bias is not None else out.clone()
    for rows, target in rows_and_targets:
        rms = core[:, rows].pow(2).mean().sqrt().item()
        if not math.isfinite(rms) or rms < 1e-30:
            continue  # nothing to scale (e.g. an all-zero input)
        s = target / rms
        # ConvTranspose2d's weight is [in, out/groups, kh, kw]; with
        # groups == in == out (the only use here) dim 0 is the channel too.
        module.weight[rows] *= s
        core[:, rows] *= s
    return core + bias.view(1, -1, 1, 1) if bias is not None else core


@torch.no_grad()
def calibrate(model, x):
    """The calibration pass of randomize() on input `x` (see there)."""
    offset_convs = {}
    for m in model.modules():
        if isinstance(m, DCN):
            offset_convs[id(m.conv_offset_mask)] = _offset_channels(m)

    def hook(module, inputs, out):
        c = out.shape[1]
        if id(module) in offset_convs:
            n_off = offset_convs[id(module)]
            return _rescale(module, out, [(slice(0, n_off), OFFSET_VARYING_RMS),
                                          (slice(n_off, c), MASK_VARYING_RMS)])
        if isinstance(module, nn.ConvTranspose2d) and not (
                module.groups == module.in_channels == module.out_channels):
            raise NotImplementedError("calibration of a non-depthwise "
                                      "ConvTranspose2d")
        return _rescale(module, out, [(slice(0, c), ACTIVATION_RMS)])

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, DCN))]
    try:
        model(x)
    finally:
        for h in handles:
            h.remove()


# --------------------------------------------------------------------------
# Introspection helpers used by the tests and scripts
# --------------------------------------------------------------------------

def count_parameters(model):
    """Parameter values including BN running statistics (not
    num_batches_tracked), as the reference README counts them."""
    return sum(t.numel() for k, t in model.state_dict().items()
               if not k.endswith("num_batches_tracked"))


def dcn_modules(model):
    return [(n, m) for n, m in model.named_modules() if isinstance(m, DCN)]


@torch.no_grad()
def dcn_offset_stats(model, x):
    """Per DCN on input `x`: (name, offset std, fraction of sampling points
    outside the input map, mask mean, mean over offset channels of their
    spatial std, i.e. the part that varies from pixel to pixel). Used to check
    the randomization."""
    stats = []

    def hook(dcn, args):
        inp = args[0]
        offset, mask = dcn.offset_mask(inp)
        n, _, h, w = offset.shape
        k = dcn.kernel_size[0]
        off = offset.view(n, k * k, 2, h, w)
        ky = torch.arange(k).repeat_interleave(k).view(1, k * k, 1, 1).float()
        kx = torch.arange(k).repeat(k).view(1, k * k, 1, 1).float()
        ys = torch.arange(h).view(1, 1, h, 1).float() * dcn.stride - dcn.padding
        xs = torch.arange(w).view(1, 1, 1, w).float() * dcn.stride - dcn.padding
        y = ys + ky * dcn.dilation + off[:, :, 0]
        x_ = xs + kx * dcn.dilation + off[:, :, 1]
        H, W = inp.shape[2], inp.shape[3]
        outside = ((y <= -1) | (y >= H) | (x_ <= -1) | (x_ >= W)).float().mean()
        varying = offset.flatten(2).std(dim=2).mean()
        stats.append((names[dcn], offset.std().item(), outside.item(),
                      mask.mean().item(), varying.item()))

    names = {m: n for n, m in model.named_modules()}
    handles = [m.register_forward_pre_hook(hook)
               for m in model.modules() if isinstance(m, DCN)]
    try:
        model(x)
    finally:
        for h in handles:
            h.remove()
    return stats
