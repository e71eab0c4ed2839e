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

# The model JSON (presets, forms, defaults): dla_spec.py.
from dla_spec import (BLOCKS, BOTTLENECK_EXPANSION, PRESETS, SpecError,  # noqa: E402,F401
                      load_spec, normalize_spec, strip_json_comments)


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
    expansion = BOTTLENECK_EXPANSION

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
    expansion = BOTTLENECK_EXPANSION

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


# Seeded random weights and the introspection helpers: dla_random.py (it
# reads the module classes above, so it is imported last).
from dla_random import (ACTIVATION_RMS, calibrate, count_parameters,  # noqa: E402,F401
                        dcn_modules, dcn_offset_stats, randomize)
