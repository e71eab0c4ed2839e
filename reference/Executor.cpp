//===- Executor.cpp - Reference executor of primitive dla IR --------------===//

#include "reference/Executor.h"
#include "reference/FusedKernels.h"

#include "dialects/DLA/IR/DLAOps.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/raw_ostream.h"

#include <stdexcept>

using namespace mlir;
using namespace mlir::dla;
namespace ref = ::dla::ref;

std::vector<ParamInfo> mlir::dla::collectParams(Operation *root) {
  std::vector<ParamInfo> params;
  llvm::StringSet<> seen;
  root->walk([&](ParamOp op) {
    if (seen.insert(op.getName()).second)
      params.push_back({op.getName().str(), op.getType().getShape().vec()});
  });
  return params;
}

namespace {
ref::Size2 pair(ArrayRef<int64_t> v) { return ref::Size2(v[0], v[1]); }

std::string describe(Operation *op) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << "'" << op->getName() << "' at " << op->getLoc();
  return s;
}

class Evaluator {
public:
  Evaluator(const ParamSource &params, const ParamSource &prepared)
      : params(params), prepared(prepared) {}

  bool run(func::FuncOp func, const std::vector<ref::Tensor> &inputs,
           std::vector<ref::Tensor> &outputs, std::string &error) {
    Block &body = func.getBody().front();
    if (inputs.size() != body.getNumArguments()) {
      error = "expected " + std::to_string(body.getNumArguments()) +
              " inputs, got " + std::to_string(inputs.size());
      return false;
    }
    for (auto [arg, tensor] : llvm::zip(body.getArguments(), inputs)) {
      auto type = llvm::cast<RankedTensorType>(arg.getType());
      if (llvm::ArrayRef<int64_t>(tensor.shape) != type.getShape()) {
        error = "input #" + std::to_string(arg.getArgNumber()) + " has shape " +
                tensor.shapeString() + ", the model expects " + shapeOf(type);
        return false;
      }
      values[arg] = tensor;
    }
    countUses(body);
    for (Operation &op : body) {
      if (auto ret = dyn_cast<func::ReturnOp>(op)) {
        for (Value v : ret.getOperands())
          outputs.push_back(values.lookup(v));
        return true;
      }
      try {
        if (!step(&op, error))
          return false;
      } catch (const std::invalid_argument &e) {
        error = describe(&op) + ": " + e.what();
        return false;
      }
      release(&op);
    }
    error = "function has no return";
    return false;
  }

private:
  static std::string shapeOf(RankedTensorType type) {
    std::string s = "[";
    for (auto [i, d] : llvm::enumerate(type.getShape()))
      s += (i ? ", " : "") + std::to_string(d);
    return s + "]";
  }

  /// Activations are freed after their last use, so large inputs fit.
  void countUses(Block &body) {
    for (Operation &op : body)
      for (Value v : op.getOperands())
        ++remainingUses[v];
  }
  void release(Operation *op) {
    for (Value v : op->getOperands())
      if (--remainingUses[v] == 0 && !isa<BlockArgument>(v))
        values.erase(v);
  }

  const ref::Tensor &get(Value v) { return values.find(v)->second; }
  const ref::Tensor *getOpt(Value v) { return v ? &get(v) : nullptr; }
  std::vector<const ref::Tensor *> all(ValueRange range) {
    std::vector<const ref::Tensor *> tensors;
    for (Value v : range)
      tensors.push_back(&get(v));
    return tensors;
  }

  bool step(Operation *op, std::string &error) {
    if (auto param = dyn_cast<ParamOp>(op)) {
      const ref::Tensor *t = params(param.getName().str());
      if (!t) {
        error = "parameter '" + param.getName().str() + "' is missing";
        return false;
      }
      if (llvm::ArrayRef<int64_t>(t->shape) != param.getType().getShape()) {
        error = "parameter '" + param.getName().str() + "' has shape " +
                t->shapeString() + ", the model expects " + shapeOf(param.getType());
        return false;
      }
      values[param] = *t;
      return true;
    }
    if (auto prep = dyn_cast<PreparedOp>(op)) {
      const ref::Tensor *t = prepared(prep.getName().str());
      if (!t) {
        error = describe(op) + ": @init produced no tensor '" +
                prep.getName().str() + "'";
        return false;
      }
      values[prep] = *t;
      return true;
    }
    if (auto fold = dyn_cast<FoldBatchNormOp>(op)) {
      auto [w, b] = ref::foldBatchNorm(
          get(fold.getWeight()), getOpt(fold.getBias()), get(fold.getBnWeight()),
          get(fold.getBnBias()), get(fold.getMean()), get(fold.getVar()),
          fold.getEpsilon().convertToDouble());
      values[fold.getNewWeight()] = std::move(w);
      values[fold.getNewBias()] = std::move(b);
      return true;
    }
    std::optional<ref::Tensor> result =
        llvm::TypeSwitch<Operation *, std::optional<ref::Tensor>>(op)
            .Case([&](Conv2dOp c) {
              return ref::conv2d(get(c.getInput()), get(c.getWeight()),
                                 getOpt(c.getBias()), pair(c.getStride()),
                                 pair(c.getPadding()), pair(c.getDilation()),
                                 c.getGroups());
            })
            .Case([&](BatchNormOp c) {
              return ref::batchNorm(get(c.getInput()), get(c.getWeight()),
                                    get(c.getBias()), get(c.getMean()),
                                    get(c.getVar()),
                                    c.getEpsilon().convertToDouble());
            })
            .Case([&](ReluOp c) { return ref::relu(get(c.getInput())); })
            .Case([&](SigmoidOp c) { return ref::sigmoid(get(c.getInput())); })
            .Case([&](AddOp c) { return ref::add(get(c.getLhs()), get(c.getRhs())); })
            .Case([&](ConcatOp c) {
              std::vector<ref::Tensor> inputs;
              for (Value v : c.getInputs())
                inputs.push_back(get(v));
              return ref::concat(inputs);
            })
            .Case([&](SliceOp c) {
              return ref::sliceChannels(get(c.getInput()), c.getOffset(),
                                        c.getSize());
            })
            .Case([&](MaxPool2dOp c) {
              return ref::maxPool2d(get(c.getInput()), pair(c.getKernel()),
                                    pair(c.getStride()), pair(c.getPadding()));
            })
            .Case([&](AvgPool2dOp c) {
              return ref::avgPool2d(get(c.getInput()), pair(c.getKernel()),
                                    pair(c.getStride()), pair(c.getPadding()));
            })
            .Case([&](ConvTranspose2dOp c) {
              return ref::convTranspose2d(get(c.getInput()), get(c.getWeight()),
                                          getOpt(c.getBias()), pair(c.getStride()),
                                          pair(c.getPadding()),
                                          pair(c.getOutputPadding()), c.getGroups());
            })
            .Case([&](DeformConv2dOp c) {
              return ref::deformConv2d(
                  get(c.getInput()), get(c.getOffset()), &get(c.getMask()),
                  get(c.getWeight()), getOpt(c.getBias()), pair(c.getStride()),
                  pair(c.getPadding()), pair(c.getDilation()), c.getGroups(),
                  c.getDeformableGroups());
            })
            .Case([&](FlattenOp c) { return ref::flatten(get(c.getInput())); })
            .Case([&](FusedConvOp c) {
              // `project`: the residual is conv1x1(max_pool(residual)) first.
              std::optional<ref::Tensor> projected;
              if (c.getResidualWeight()) {
                int64_t q = c.getResidualPool();
                projected = ref::conv2d(
                    q > 1 ? ref::maxPool2d(get(c.getResidual()), q, q)
                          : get(c.getResidual()),
                    get(c.getResidualWeight()), &get(c.getResidualBias()));
              }
              ref::Tensor y = ref::fusedConv(
                  all(c.getInputs()), c.getPool().vec(), get(c.getWeight()),
                  getOpt(c.getBias()), projected ? &*projected : getOpt(c.getResidual()),
                  pair(c.getStride()), pair(c.getPadding()), pair(c.getDilation()),
                  c.getGroups(), c.getRelu());
              // `then`: the 1x1 conv that follows.
              if (c.getTailWeight())
                return ref::conv2d(y, get(c.getTailWeight()), &get(c.getTailBias()));
              return y;
            })
            .Case([&](FusedDeformConvOp c) {
              return ref::fusedDeformConv(
                  all(c.getAddends()), c.getUp().vec(), all(c.getUpWeights()),
                  get(c.getOffsetWeight()), get(c.getOffsetBias()),
                  get(c.getWeight()), get(c.getBias()), c.getRelu());
            })
            .Default([&](Operation *) { return std::nullopt; });
    if (!result) {
      error = describe(op) +
              ": the reference executor runs primitive dla ops only (run "
              "dla-expand first)";
      return false;
    }
    values[op->getResult(0)] = std::move(*result);
    return true;
  }

  const ParamSource &params;
  const ParamSource &prepared;
  llvm::DenseMap<Value, ref::Tensor> values;
  llvm::DenseMap<Value, int64_t> remainingUses;
};
} // namespace

bool mlir::dla::evaluate(ModuleOp module, const std::vector<ref::Tensor> &inputs,
                         const ParamSource &params,
                         std::vector<ref::Tensor> &outputs, std::string &error) {
  // @init, when present, turns parameters into prepared tensors (folded
  // BatchNorms, ...) that @forward reads by name.
  std::map<std::string, ref::Tensor> prepared;
  ParamSource none = [](const std::string &) { return nullptr; };
  if (auto init = module.lookupSymbol<func::FuncOp>(kInitFunction)) {
    std::vector<ref::Tensor> results;
    if (!Evaluator(params, none).run(init, {}, results, error)) {
      error = "@init: " + error;
      return false;
    }
    for (auto [i, t] : llvm::enumerate(results)) {
      auto name = init.getResultAttrOfType<StringAttr>(i, kNameAttr);
      if (!name) {
        error = "@init result #" + std::to_string(i) + " has no dla.name";
        return false;
      }
      prepared[name.str()] = std::move(t);
    }
  }
  auto forward = module.lookupSymbol<func::FuncOp>(kForwardFunction);
  if (!forward) {
    error = "the module has no @forward function";
    return false;
  }
  ParamSource preparedSource = [&](const std::string &name) -> const ref::Tensor * {
    auto it = prepared.find(name);
    return it == prepared.end() ? nullptr : &it->second;
  };
  return Evaluator(params, preparedSource).run(forward, inputs, outputs, error);
}
