//===- NetBuilder.cpp - PyTorch modules of DLA as primitive dla ops -------===//

#include "passes/NetBuilder.h"

using namespace mlir;
using namespace mlir::dla;

int64_t mlir::dla::channelsOf(Value v) {
  return llvm::cast<RankedTensorType>(v.getType()).getDimSize(1);
}
int64_t mlir::dla::heightOf(Value v) {
  return llvm::cast<RankedTensorType>(v.getType()).getDimSize(2);
}
static Type eltOf(Value v) {
  return llvm::cast<RankedTensorType>(v.getType()).getElementType();
}

Value NetBuilder::param(const std::string &name, ArrayRef<int64_t> shape,
                        Type elt) {
  ++params;
  return ParamOp::create(b, RankedTensorType::get(shape, elt), name);
}

Value NetBuilder::conv(Value x, const std::string &prefix, int64_t out,
                       int64_t kernel, int64_t stride, int64_t pad,
                       int64_t dilation, int64_t groups, bool bias) {
  Type elt = eltOf(x);
  Value w = param(prefix + ".weight",
                  {out, channelsOf(x) / groups, kernel, kernel}, elt);
  Value bv = bias ? param(prefix + ".bias", {out}, elt) : Value();
  return Conv2dOp::create(b, x, w, bv, ArrayRef<int64_t>{stride, stride},
                          ArrayRef<int64_t>{pad, pad},
                          ArrayRef<int64_t>{dilation, dilation}, groups);
}

Value NetBuilder::batchNorm(Value x, const std::string &prefix) {
  int64_t c = channelsOf(x);
  Type elt = eltOf(x);
  Value g = param(prefix + ".weight", {c}, elt);
  Value beta = param(prefix + ".bias", {c}, elt);
  Value mean = param(prefix + ".running_mean", {c}, elt);
  Value var = param(prefix + ".running_var", {c}, elt);
  return BatchNormOp::create(b, x, g, beta, mean, var, llvm::APFloat(1e-5));
}

Value NetBuilder::relu(Value x) { return ReluOp::create(b, x); }

Value NetBuilder::convBnRelu(Value x, const std::string &convPrefix,
                             const std::string &bnPrefix, int64_t out,
                             int64_t kernel, int64_t stride, int64_t pad,
                             int64_t dilation) {
  Value y = conv(x, convPrefix, out, kernel, stride, pad, dilation, 1, false);
  return relu(batchNorm(y, bnPrefix));
}

Value NetBuilder::baseLayer(Value x, const std::string &prefix, int64_t out,
                            int64_t kernel) {
  return convBnRelu(x, prefix + ".0", prefix + ".1", out, kernel, 1, kernel / 2, 1);
}

Value NetBuilder::convLevel(Value x, const std::string &prefix, int64_t out,
                            int64_t convs, int64_t stride, int64_t dilation) {
  // nn.Sequential of (conv, BN, ReLU) triples: module indices 3i, 3i+1, 3i+2.
  for (int64_t i = 0; i < convs; ++i)
    x = convBnRelu(x, prefix + "." + std::to_string(3 * i),
                   prefix + "." + std::to_string(3 * i + 1), out, 3,
                   i == 0 ? stride : 1, dilation, dilation);
  return x;
}

Value NetBuilder::block(BlockKind kind, Value x, Value residual,
                        const std::string &prefix, int64_t out, int64_t stride,
                        int64_t dilation, int64_t cardinality) {
  if (!residual)
    residual = x;
  Value y;
  if (kind == BlockKind::basic) {
    y = convBnRelu(x, prefix + ".conv1", prefix + ".bn1", out, 3, stride,
                   dilation, dilation);
    y = batchNorm(conv(y, prefix + ".conv2", out, 3, 1, dilation, dilation, 1, false),
                  prefix + ".bn2");
  } else {
    // Bottleneck: planes // 2; BottleneckX: planes * cardinality // 32 with a
    // grouped 3x3.
    bool grouped = kind == BlockKind::bottleneckx;
    int64_t bottle = grouped ? out * cardinality / 32 : out / 2;
    int64_t groups = grouped ? cardinality : 1;
    y = convBnRelu(x, prefix + ".conv1", prefix + ".bn1", bottle, 1, 1, 0, 1);
    y = conv(y, prefix + ".conv2", bottle, 3, stride, dilation, dilation, groups,
             false);
    y = relu(batchNorm(y, prefix + ".bn2"));
    y = batchNorm(conv(y, prefix + ".conv3", out, 1, 1, 0, 1, 1, false),
                  prefix + ".bn3");
  }
  return relu(AddOp::create(b, y, residual));
}

Value NetBuilder::root(ArrayRef<Value> children, const std::string &prefix,
                       int64_t out, bool residual) {
  // Root: conv1x1(cat(children)) → BN → (+ children[0]) → ReLU. The conv's
  // padding (kernel_size - 1) // 2 is 0 for the only kernel size the
  // verifier accepts.
  Value cat = ConcatOp::create(b, ValueRange(children));
  Value y = batchNorm(conv(cat, prefix + ".conv", out, 1, 1, 0, 1, 1, false),
                      prefix + ".bn");
  if (residual)
    y = AddOp::create(b, y, children.front());
  return relu(y);
}

Value NetBuilder::tree(Value x, SmallVectorImpl<Value> &children,
                       const std::string &prefix, const TreeConfig &c) {
  Value bottom = x;
  if (c.stride > 1)
    bottom = MaxPool2dOp::create(b, x, ArrayRef<int64_t>{c.stride, c.stride},
                                 ArrayRef<int64_t>{c.stride, c.stride},
                                 ArrayRef<int64_t>{0, 0});
  Value residual = bottom;
  if (c.inChannels != c.outChannels)
    residual = batchNorm(conv(bottom, prefix + ".project.0", c.outChannels, 1, 1,
                              0, 1, 1, false),
                         prefix + ".project.1");
  if (c.levelRoot)
    children.push_back(bottom);

  if (c.levels == 1) {
    Value x1 = block(c.block, x, residual, prefix + ".tree1", c.outChannels,
                     c.stride, c.dilation, c.cardinality);
    Value x2 = block(c.block, x1, Value(), prefix + ".tree2", c.outChannels, 1,
                     c.dilation, c.cardinality);
    SmallVector<Value> rootInputs{x2, x1};
    rootInputs.append(children.begin(), children.end());
    return root(rootInputs, prefix + ".root", c.outChannels, c.rootResidual);
  }
  // levels > 1: tree1 gets a fresh children list and recomputes its own
  // residual, so `residual` above is dead here (PyTorch computes it anyway).
  TreeConfig sub = c;
  sub.levels = c.levels - 1;
  sub.levelRoot = false;
  SmallVector<Value> fresh;
  Value x1 = tree(x, fresh, prefix + ".tree1", sub);
  children.push_back(x1);
  sub.inChannels = c.outChannels;
  sub.stride = 1;
  return tree(x1, children, prefix + ".tree2", sub);
}

Value NetBuilder::deformConv(Value x, const std::string &prefix, int64_t out) {
  // CenterNet's DeformConv: DCN(chi, cho, 3x3, stride 1, pad 1,
  // deformable_groups 1) → BN (actf.0) → ReLU. The DCN splits its
  // conv_offset_mask output into o1, o2, m: offset = cat(o1, o2),
  // mask = sigmoid(m).
  const int64_t points = 9;
  Value om = conv(x, prefix + ".conv.conv_offset_mask", 3 * points, 3, 1, 1, 1, 1,
                  true);
  Value o1 = SliceOp::create(b, om, 0, points);
  Value o2 = SliceOp::create(b, om, points, points);
  Value m = SliceOp::create(b, om, 2 * points, points);
  Value offset = ConcatOp::create(b, ValueRange{o1, o2});
  Value mask = SigmoidOp::create(b, m);
  Type elt = eltOf(x);
  Value w = param(prefix + ".conv.weight", {out, channelsOf(x), 3, 3}, elt);
  Value bias = param(prefix + ".conv.bias", {out}, elt);
  Value y = DeformConv2dOp::create(b, x, offset, mask, w, bias,
                                   ArrayRef<int64_t>{1, 1}, ArrayRef<int64_t>{1, 1},
                                   ArrayRef<int64_t>{1, 1}, 1, 1);
  return relu(batchNorm(y, prefix + ".actf.0"));
}

void NetBuilder::idaUp(SmallVectorImpl<Value> &layers, int64_t startp,
                       int64_t endp, const std::string &prefix, int64_t out) {
  // up_f[k] is the scale of layer startp+k relative to layer startp, taken
  // from the shapes before any layer is rewritten.
  int64_t baseHeight = heightOf(layers[startp]);
  for (int64_t i = startp + 1; i < endp; ++i) {
    std::string k = std::to_string(i - startp);
    int64_t f = baseHeight / heightOf(layers[i]);
    Value proj = deformConv(layers[i], prefix + ".proj_" + k, out);
    Value w = param(prefix + ".up_" + k + ".weight", {out, 1, 2 * f, 2 * f},
                    eltOf(proj));
    Value up = ConvTranspose2dOp::create(
        b, proj, w, Value(), ArrayRef<int64_t>{f, f},
        ArrayRef<int64_t>{f / 2, f / 2}, ArrayRef<int64_t>{0, 0}, out);
    layers[i] = deformConv(AddOp::create(b, up, layers[i - 1]),
                           prefix + ".node_" + k, out);
  }
}

SmallVector<Value> NetBuilder::dlaUp(SmallVector<Value> layers, int64_t startp,
                                     const std::string &prefix) {
  int64_t n = layers.size();
  // DLAUp's `channels` are the original channels of layers[startp:].
  SmallVector<int64_t> channels;
  for (Value v : layers)
    channels.push_back(channelsOf(v));
  SmallVector<Value> out{layers.back()};
  for (int64_t i = 0; i < n - startp - 1; ++i) {
    int64_t first = n - i - 2;
    idaUp(layers, first, n, prefix + ".ida_" + std::to_string(i), channels[first]);
    out.insert(out.begin(), layers.back());
  }
  return out;
}

Value NetBuilder::head(Value x, const std::string &prefix, int64_t headConv,
                       int64_t finalKernel, int64_t classes) {
  if (headConv == 0)
    return conv(x, prefix, classes, finalKernel, 1, finalKernel / 2, 1, 1, true);
  Value y = relu(conv(x, prefix + ".0", headConv, 3, 1, 1, 1, 1, true));
  return conv(y, prefix + ".2", classes, finalKernel, 1, finalKernel / 2, 1, 1,
              true);
}

Value NetBuilder::classifier(Value x, const std::string &prefix, int64_t pool,
                             int64_t classes) {
  Value y = AvgPool2dOp::create(b, x, ArrayRef<int64_t>{pool, pool},
                                ArrayRef<int64_t>{pool, pool},
                                ArrayRef<int64_t>{0, 0});
  y = conv(y, prefix + "fc", classes, 1, 1, 0, 1, 1, true);
  return FlattenOp::create(b, y);
}
