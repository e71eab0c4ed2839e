//===- Importer.cpp - ModelSpec → structural dla IR -----------------------===//

#include "frontend/Importer.h"

#include "dialects/DLA/IR/DLAOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

using namespace mlir;
using namespace mlir::dla;

namespace {
/// The frontend's block kind (plain C++) as the dialect's ODS enum: the one
/// place where the two BlockKinds meet.
mlir::dla::BlockKind toBlockKind(::dla::frontend::BlockKind kind) {
  switch (kind) {
  case ::dla::frontend::BlockKind::Basic:
    return mlir::dla::BlockKind::basic;
  case ::dla::frontend::BlockKind::Bottleneck:
    return mlir::dla::BlockKind::bottleneck;
  case ::dla::frontend::BlockKind::BottleneckX:
    return mlir::dla::BlockKind::bottleneckx;
  }
  llvm_unreachable("unknown block kind");
}

class Importer {
public:
  Importer(const ::dla::frontend::ModelSpec &spec, MLIRContext *ctx,
           StringRef filename)
      : spec(spec), ctx(ctx), filename(filename),
        elt(Float32Type::get(ctx)) {}

  OwningOpRef<ModuleOp> run() {
    OpBuilder top(ctx);
    Location fileLoc = FileLineColLoc::get(ctx, filename, 1, 1);
    OwningOpRef<ModuleOp> module = ModuleOp::create(fileLoc, spec.name);
    // The network is imported in f32 whatever the precision: the structural
    // and primitive IR are PyTorch's float32 computation, and
    // dla-apply-precision (the end of the dla-fuse pipeline) gives the fused
    // IR its storage types.
    (*module)->setAttr(kPrecisionAttr,
                       StringAttr::get(ctx, ::dla::frontend::toString(spec.precision)));

    auto in = spec.input;
    auto inputType =
        RankedTensorType::get({in.batch, in.channels, in.height, in.width}, elt);
    SmallVector<Type> resultTypes;
    for (const auto &out : spec.outputs())
      resultTypes.push_back(RankedTensorType::get(out.shape, elt));

    top.setInsertionPointToEnd(module->getBody());
    auto func = func::FuncOp::create(top, fileLoc, kForwardFunction,
                                     top.getFunctionType({inputType}, resultTypes));
    func.setArgAttr(0, kNameAttr, top.getStringAttr("input"));
    for (auto [i, out] : llvm::enumerate(spec.outputs()))
      func.setResultAttr(i, kNameAttr, top.getStringAttr(out.name));

    Block *body = func.addEntryBlock();
    OpBuilder b = OpBuilder::atBlockEnd(body);
    SmallVector<Value> results = buildBody(b, body->getArgument(0));
    func::ReturnOp::create(b, fileLoc, results);
    return module;
  }

private:
  /// Each structural op is located at the JSON construct it comes from:
  /// its path, and where the file wrote it.
  Location at(const std::string &what) {
    auto it = spec.sourceLocations.find(what);
    auto [line, column] =
        it != spec.sourceLocations.end() ? it->second : std::pair<unsigned, unsigned>(1, 1);
    return NameLoc::get(StringAttr::get(ctx, what),
                        FileLineColLoc::get(ctx, filename, line, column));
  }

  RankedTensorType nchw(int64_t c, int64_t h, int64_t w) {
    return RankedTensorType::get({spec.input.batch, c, h, w}, elt);
  }

  SmallVector<Value> buildBody(OpBuilder &b, Value x) {
    const std::string &p = spec.paramPrefix;
    int64_t h = spec.input.height, w = spec.input.width;
    x = BaseLayerOp::create(b, at("backbone.base"), nchw(spec.base.out, h, w), x,
                            p + "base_layer", spec.base.out, spec.base.kernel);
    SmallVector<Value> levels;
    for (auto [i, stage] : llvm::enumerate(spec.stages)) {
      std::string name = "level" + std::to_string(i);
      Location loc = at("backbone.stages[" + std::to_string(i) + "]");
      auto type = nchw(stage.out, stage.outHeight, stage.outWidth);
      if (stage.kind == ::dla::frontend::StageKind::Conv)
        x = ConvLevelOp::create(b, loc, type, x, p + name, stage.out, stage.convs,
                                stage.stride, stage.dilation);
      else
        x = TreeOp::create(b, loc, type, x, toBlockKind(stage.block), p + name,
                           stage.levels, stage.out, stage.stride, stage.levelRoot,
                           stage.rootResidual, stage.rootKernelSize,
                           stage.dilation, std::max<int64_t>(stage.cardinality, 1));
      levels.push_back(x);
    }

    if (spec.classifier)
      return {ClassifierOp::create(b, at("heads.classifier"),
                                   outputType(0), x, p,
                                   spec.classifier->poolSize,
                                   spec.classifier->numClasses)};
    if (!spec.neck)
      return levels;

    const auto &neck = *spec.neck;
    SmallVector<Type> upTypes;
    for (int64_t i = neck.firstLevel; i < 6; ++i)
      upTypes.push_back(levels[i].getType());
    auto up = DLAUpOp::create(b, at("neck"), upTypes, levels, "dla_up",
                              neck.firstLevel);
    SmallVector<Value> pyramid(up.getResults().take_front(neck.lastLevel -
                                                          neck.firstLevel));
    Value y = IDAUpOp::create(b, at("neck"), pyramid.front().getType(), pyramid,
                              "ida_up", neck.outChannel);
    SmallVector<Value> outs;
    for (auto [i, head] : llvm::enumerate(spec.centerNet->outputs))
      outs.push_back(HeadOp::create(b, at("heads.outputs." + head.name),
                                    outputType(i), y, head.name,
                                    spec.centerNet->headConv,
                                    spec.centerNet->finalKernel, head.classes));
    return outs;
  }

  Type outputType(size_t i) {
    return RankedTensorType::get(spec.outputs()[i].shape, elt);
  }

  const ::dla::frontend::ModelSpec &spec;
  MLIRContext *ctx;
  std::string filename;
  Type elt; ///< f32: the storage types come with dla-apply-precision.
};
} // namespace

OwningOpRef<ModuleOp>
mlir::dla::importModel(const ::dla::frontend::ModelSpec &spec,
                       MLIRContext *context, StringRef filename) {
  context->loadDialect<DLADialect, func::FuncDialect>();
  return Importer(spec, context, filename).run();
}
