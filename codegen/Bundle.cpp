//===- Bundle.cpp - Memory plan and manifest of a dlac bundle -------------===//

#include "codegen/Bundle.h"

#include "codegen/KernelGen.h"
#include "codegen/KernelInfo.h"
#include "dialects/DLA/IR/DLAOps.h"
#include "runtime/schema/Manifest.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <numeric>
#include <optional>

using namespace mlir;
using namespace mlir::dla;

namespace {

int64_t alignUp(int64_t n) {
  return (n + kBufferAlignment - 1) / kBufferAlignment * kBufferAlignment;
}

/// Bytes of a statically shaped tensor, -1 for anything else.
int64_t bytesOf(Type type) {
  auto shaped = llvm::dyn_cast<RankedTensorType>(type);
  if (!shaped || !shaped.hasStaticShape() ||
      !shaped.getElementType().isIntOrFloat())
    return -1;
  // A weight the host keeps widened is stored in its layout's type.
  return shaped.getNumElements() *
         ((storedElementType(shaped).getIntOrFloatBitWidth() + 7) / 8);
}

std::string describe(Value v) {
  std::string s;
  llvm::raw_string_ostream os(s);
  if (Operation *op = v.getDefiningOp())
    os << "'" << op->getName() << "' at " << op->getLoc();
  else
    os << "block argument #" << llvm::cast<BlockArgument>(v).getArgNumber();
  return s;
}

std::string describe(Operation *op) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << "'" << op->getName() << "' at " << op->getLoc();
  return s;
}

/// The values a function returns (its single func.return).
SmallVector<Value> returned(func::FuncOp f) {
  SmallVector<Value> values;
  f.walk([&](func::ReturnOp r) { llvm::append_range(values, r.getOperands()); });
  return values;
}

/// The kernels of @init then @forward, in program order.
void collectKernels(func::FuncOp f, std::vector<Operation *> &kernels) {
  if (f)
    f.walk([&](Operation *op) {
      if (isKernel(op))
        kernels.push_back(op);
    });
}

/// Offsets for `acts` such that activations with meeting lifetimes never
/// overlap: largest first (ties in program order), each at the lowest
/// aligned offset free for its whole lifetime (first fit).
void placeActivations(std::vector<PlannedActivation> &acts) {
  std::vector<size_t> order(acts.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return acts[a].bytes > acts[b].bytes;
  });
  std::vector<size_t> placed;
  for (size_t i : order) {
    PlannedActivation &a = acts[i];
    std::vector<size_t> live;
    for (size_t j : placed)
      if (acts[j].first <= a.last && a.first <= acts[j].last)
        live.push_back(j);
    std::sort(live.begin(), live.end(), [&](size_t x, size_t y) {
      return acts[x].offset < acts[y].offset;
    });
    int64_t offset = 0;
    for (size_t j : live) {
      if (offset + a.bytes <= acts[j].offset)
        break;
      offset = std::max(offset, alignUp(acts[j].offset + acts[j].bytes));
    }
    a.offset = offset;
    placed.push_back(i);
  }
}

} // namespace

MemoryPlan mlir::dla::planMemory(ModuleOp module) {
  MemoryPlan plan;
  auto fail = [&](const std::string &msg) {
    if (plan.error.empty())
      plan.error = msg;
    return plan;
  };
  auto forward = module.lookupSymbol<func::FuncOp>(kForwardFunction);
  auto init = module.lookupSymbol<func::FuncOp>(kInitFunction);
  if (!forward || forward.isExternal())
    return fail("the module has no @forward function with a body");

  std::vector<Operation *> kernels;
  collectKernels(init, kernels);
  plan.numInitKernels = static_cast<int64_t>(kernels.size());
  collectKernels(forward, kernels);
  plan.numForwardKernels =
      static_cast<int64_t>(kernels.size()) - plan.numInitKernels;
  llvm::DenseMap<Operation *, int64_t> index;
  for (auto [i, op] : llvm::enumerate(kernels))
    index[op] = static_cast<int64_t>(i);

  // The kernel a (possibly nested) user belongs to, -1 for none.
  auto kernelOf = [&](Operation *user) -> int64_t {
    for (Operation *op = user; op; op = op->getParentOp()) {
      auto it = index.find(op);
      if (it != index.end())
        return it->second;
      if (isa<func::FuncOp>(op))
        break;
    }
    return -1;
  };

  // @init's results: kernel results are prepared tensors, packed in result
  // order; parameters returned as they are need no copy.
  llvm::DenseSet<Value> initResults;
  if (init) {
    llvm::DenseMap<Value, size_t> preparedOf;
    for (auto [i, v] : llvm::enumerate(returned(init))) {
      auto name = init.getResultAttrOfType<StringAttr>(i, kNameAttr);
      if (!name)
        return fail("@init result #" + std::to_string(i) + " has no dla.name");
      initResults.insert(v);
      if (v.getDefiningOp<ParamOp>())
        continue;
      if (!v.getDefiningOp() || !index.count(v.getDefiningOp()))
        return fail("@init result '" + name.str() +
                    "' is neither a kernel result nor a parameter (" +
                    describe(v) + ")");
      auto [it, fresh] = preparedOf.try_emplace(v, plan.prepared.size());
      if (fresh) {
        PlannedPrepared p;
        p.value = v;
        p.bytes = bytesOf(v.getType());
        if (p.bytes < 0)
          return fail("@init result '" + name.str() +
                      "' is not a statically shaped tensor");
        p.offset = alignUp(plan.preparedBytes);
        plan.preparedBytes = p.offset + p.bytes;
        plan.prepared.push_back(p);
      }
      plan.prepared[it->second].names.push_back(name.str());
    }
  }

  llvm::DenseSet<Value> outputs;
  for (Value v : returned(forward))
    outputs.insert(v);

  // Activations: every other kernel result, live from its kernel to its last
  // reader.
  for (auto [i, op] : llvm::enumerate(kernels)) {
    bool inInit = static_cast<int64_t>(i) < plan.numInitKernels;
    for (Value r : op->getResults()) {
      if (inInit ? initResults.contains(r) : outputs.contains(r))
        continue;
      PlannedActivation a;
      a.value = r;
      a.kernel = op;
      a.bytes = bytesOf(r.getType());
      if (a.bytes < 0)
        return fail("the result of " + describe(op) +
                    " is not a statically shaped tensor");
      a.first = a.last = static_cast<int64_t>(i);
      for (Operation *user : r.getUsers())
        a.last = std::max(a.last, kernelOf(user));
      plan.activationBytesTotal += a.bytes;
      plan.activations.push_back(a);
    }
  }
  placeActivations(plan.activations);
  for (const PlannedActivation &a : plan.activations)
    plan.arenaBytes = std::max(plan.arenaBytes, a.offset + a.bytes);
  return plan;
}

//===----------------------------------------------------------------------===//
// The manifest
//===----------------------------------------------------------------------===//

namespace {

/// The manifest's element type of a tensor type, if it has one.
std::optional<dlart::ElementType> elementTypeOf(Type type) {
  auto t = llvm::dyn_cast_if_present<RankedTensorType>(type);
  if (!t)
    return std::nullopt;
  Type e = storedElementType(t);
  if (e.isF32())
    return dlart::ElementType::F32;
  if (e.isF16())
    return dlart::ElementType::F16;
  if (e.isBF16())
    return dlart::ElementType::BF16;
  return std::nullopt;
}

/// `v` narrowed to the schema's 32-bit field, or false when it is outside
/// [lo, hi] (the bounds the runtime's reader enforces).
bool narrow(int64_t v, int64_t lo, int64_t hi, uint32_t &out) {
  if (v < lo || v > hi)
    return false;
  out = static_cast<uint32_t>(v);
  return true;
}

} // namespace

LogicalResult
mlir::dla::renderManifest(ModuleOp module,
                          const std::map<Operation *, KernelLaunch> &launches,
                          const dlart::Manifest &targets, std::string &text,
                          std::string &error) {
  auto fail = [&](const std::string &msg) {
    error = msg;
    return failure();
  };
  MemoryPlan plan = planMemory(module);
  if (!plan.error.empty())
    return fail(plan.error);
  if (!targets.hasHost && !targets.hasCuda)
    return fail("the bundle has no target (host or cuda)");
  if (targets.hasCuda && (targets.cudaArchs.empty() || targets.cudaBinary.empty()))
    return fail("the cuda target needs architectures and a binary name");

  auto forward = module.lookupSymbol<func::FuncOp>(kForwardFunction);
  auto init = module.lookupSymbol<func::FuncOp>(kInitFunction);

  dlart::Manifest m = targets;
  llvm::DenseMap<Value, uint32_t> bufferOf;
  auto addBuffer = [&](dlart::BufferKind kind, int64_t bytes, int64_t offset = 0,
                       Type type = {}) {
    m.buffers.push_back({kind, static_cast<uint64_t>(bytes), static_cast<uint64_t>(offset),
                         elementTypeOf(type).value_or(dlart::ElementType::F32)});
    return static_cast<uint32_t>(m.buffers.size() - 1);
  };
  // A caller-visible tensor (input, output, parameter) needs a shape; inputs
  // and outputs are f32, parameters f32 or the storage type.
  auto addTensor = [&](std::vector<dlart::TensorDesc> &list,
                       const std::string &name, Type type, uint32_t buffer,
                       const std::string &what) {
    std::optional<dlart::ElementType> dtype = elementTypeOf(type);
    if (bytesOf(type) <= 0 || !dtype ||
        (what != "parameter" && *dtype != dlart::ElementType::F32)) {
      std::string s;
      llvm::raw_string_ostream os(s);
      os << what << " '" << name << "' has type " << type
         << "; a bundle holds non-empty, statically shaped tensors, f32 for the model's "
            "inputs and outputs, f32, tf32, f16 or bf16 for its parameters";
      error = s;
      return false;
    }
    auto shaped = llvm::cast<RankedTensorType>(type);
    ArrayRef<int64_t> shape = shaped.getShape();
    list.push_back({name, std::vector<int64_t>(shape.begin(), shape.end()),
                    static_cast<uint64_t>(shaped.getNumElements()), buffer, *dtype});
    // A reduced-precision weight kept widened: rounded when loaded.
    if (*dtype == dlart::ElementType::F32 && !shaped.getElementType().isF32())
      list.back().roundTo = shaped.getElementType().isF16()    ? dlart::ElementType::F16
                            : shaped.getElementType().isBF16() ? dlart::ElementType::BF16
                                                               : dlart::ElementType::TF32;
    return true;
  };

  // Inputs: @forward's arguments.
  for (BlockArgument arg : forward.getArguments()) {
    unsigned i = arg.getArgNumber();
    auto attr = forward.getArgAttrOfType<StringAttr>(i, kNameAttr);
    std::string name = attr ? attr.str()
                            : forward.getNumArguments() == 1
                                  ? "input"
                                  : "input_" + std::to_string(i);
    uint32_t id = addBuffer(dlart::BufferKind::Input, bytesOf(arg.getType()));
    if (!addTensor(m.inputs, name, arg.getType(), id, "input"))
      return failure();
    bufferOf[arg] = id;
  }
  if (m.inputs.empty())
    return fail("@forward has no input");

  // Outputs: @forward's results, each written by its own kernel.
  for (auto [i, v] : llvm::enumerate(returned(forward))) {
    auto attr = forward.getResultAttrOfType<StringAttr>(i, kNameAttr);
    std::string name = attr ? attr.str() : "output_" + std::to_string(i);
    Operation *def = v.getDefiningOp();
    if (!def || !isKernel(def) || def->getParentOfType<func::FuncOp>() != forward)
      return fail("output '" + name + "' is not computed by a kernel of "
                  "@forward (" + describe(v) + "); the bundle has no copy step");
    if (bufferOf.count(v))
      return fail("output '" + name + "' is the same tensor as an earlier "
                  "output; the bundle has no copy step");
    uint32_t id = addBuffer(dlart::BufferKind::Output, bytesOf(v.getType()));
    if (!addTensor(m.outputs, name, v.getType(), id, "output"))
      return failure();
    bufferOf[v] = id;
  }

  // Parameters, one per name, in order of first appearance.
  llvm::StringMap<std::pair<uint32_t, Type>> paramByName;
  for (func::FuncOp f : {init, forward}) {
    if (!f)
      continue;
    WalkResult walk = f.walk([&](ParamOp p) {
      std::string name = p.getName().str();
      auto it = paramByName.find(name);
      if (it != paramByName.end()) {
        if (it->second.second != p.getType()) {
          std::string s;
          llvm::raw_string_ostream os(s);
          os << "parameter '" << name << "' is read as " << it->second.second
             << " and as " << p.getType();
          error = s;
          return WalkResult::interrupt();
        }
        bufferOf[p.getResult()] = it->second.first;
        return WalkResult::advance();
      }
      uint32_t id = addBuffer(dlart::BufferKind::Parameter, bytesOf(p.getType()), 0, p.getType());
      if (!addTensor(m.parameters, name, p.getType(), id, "parameter"))
        return WalkResult::interrupt();
      paramByName[name] = {id, p.getType()};
      bufferOf[p.getResult()] = id;
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      return failure();
  }

  // Prepared tensors, and the names @forward reads them by (a parameter
  // returned by @init as it is stands for itself).
  llvm::StringMap<std::pair<uint32_t, Type>> preparedByName;
  for (const PlannedPrepared &p : plan.prepared) {
    if (p.bytes == 0)
      return fail("prepared tensor '" + p.names.front() + "' is empty");
    uint32_t id = addBuffer(dlart::BufferKind::Prepared, p.bytes, p.offset, p.value.getType());
    bufferOf[p.value] = id;
    for (const std::string &name : p.names)
      preparedByName[name] = {id, p.value.getType()};
  }
  if (init)
    for (auto [i, v] : llvm::enumerate(returned(init)))
      if (auto p = v.getDefiningOp<ParamOp>())
        preparedByName[init.getResultAttrOfType<StringAttr>(i, kNameAttr)
                           .getValue()] = {bufferOf.lookup(v), v.getType()};
  WalkResult walk = forward.walk([&](PreparedOp p) {
    auto it = preparedByName.find(p.getName());
    if (it == preparedByName.end()) {
      error = "dla.prepared \"" + p.getName().str() +
              "\" names no result of @init";
      return WalkResult::interrupt();
    }
    if (it->second.second != p.getType()) {
      std::string s;
      llvm::raw_string_ostream os(s);
      os << "dla.prepared \"" << p.getName() << "\" has type " << p.getType()
         << " but @init returns " << it->second.second;
      error = s;
      return WalkResult::interrupt();
    }
    bufferOf[p.getResult()] = it->second.first;
    return WalkResult::advance();
  });
  if (walk.wasInterrupted())
    return failure();

  for (const PlannedActivation &a : plan.activations) {
    if (a.bytes == 0)
      return fail("the result of " + describe(a.kernel) + " is empty");
    bufferOf[a.value] =
        addBuffer(dlart::BufferKind::Activation, a.bytes, a.offset, a.value.getType());
  }

  // Steps, within the launch bounds the runtime's reader enforces.
  auto steps = [&](func::FuncOp f, std::vector<dlart::StepDesc> &out) {
    if (!f)
      return success();
    std::vector<Operation *> kernels;
    collectKernels(f, kernels);
    for (Operation *op : kernels) {
      auto it = launches.find(op);
      if (it == launches.end())
        return fail("no launch for the kernel " + describe(op));
      const KernelLaunch &l = it->second;
      if (l.name.empty())
        return fail("the launch of " + describe(op) + " has no kernel name");
      dlart::StepDesc step;
      step.kernel = l.name;
      step.name = l.step;
      for (int64_t d : l.grid)
        if (d < 1)
          return fail("kernel '" + l.name + "' has an empty grid");
      for (int64_t d : l.block)
        if (d < 1)
          return fail("kernel '" + l.name + "' has an empty block");
      for (int j = 0; j < 3; ++j)
        if (!narrow(l.grid[j], 1, 0x7fffffff, step.grid[j]) ||
            !narrow(l.block[j], 1, 0x7fffffff, step.block[j]))
          return fail("kernel '" + l.name + "' has a launch dimension "
                      "above 2^31-1");
      if (l.sharedBytes < 0)
        return fail("kernel '" + l.name + "' has negative shared memory");
      if (!narrow(l.sharedBytes, 0, 0xffffffff, step.sharedBytes))
        return fail("kernel '" + l.name + "' has 4 GiB of shared memory or more");
      for (auto [i, v] : llvm::enumerate(op->getOperands())) {
        auto b = bufferOf.find(v);
        if (b == bufferOf.end())
          return fail("operand #" + std::to_string(i) + " of kernel '" +
                      l.name + "' is no buffer of the bundle (" +
                      describe(v) + ")");
        step.args.push_back(b->second);
      }
      for (Value v : op->getResults())
        step.args.push_back(bufferOf.lookup(v)); // every kernel result has one
      if (step.args.empty())
        return fail("kernel '" + l.name + "' reads and writes no buffer");
      if (targets.hasHost && l.hostBlocks > 0 &&
          l.hostBlocks != l.grid[0] * l.grid[1] * l.grid[2]) {
        if (!narrow(l.hostBlocks, 1, 0x7fffffff, step.hostBlocks))
          return fail("kernel '" + l.name + "' has too many host blocks");
      }
      if (targets.hasHost && l.hostWorkspaceBytes > 0)
        step.hostWorkspaceBytes = static_cast<uint64_t>(l.hostWorkspaceBytes);
      if (targets.hasHost && l.hostWaves.size() > 1)
        for (int64_t blocks : l.hostWaves) {
          uint32_t wave = 0;
          if (!narrow(blocks, 1, 0x7fffffff, wave))
            return fail("kernel '" + l.name + "' has a host wave of " +
                        std::to_string(blocks) + " blocks");
          step.hostWaves.push_back(wave);
        }
      // The kernel writes its results, the last args (the runtime checks
      // the steps as a dataflow with it).
      step.writes = op->getNumResults();
      step.macs = static_cast<uint64_t>(std::max<int64_t>(0, kernelCost(op).macs));
      out.push_back(std::move(step));
    }
    return success();
  };
  if (failed(steps(init, m.init)) || failed(steps(forward, m.forward)))
    return failure();

  std::optional<StringRef> model = module.getSymName();
  m.model = model && !model->empty() ? model->str() : "model";
  m.producer = "dlac 0.1.0";
  if (m.hasHost)
    m.hostLibrary = "kernels.so";
  if (!m.hasHost || m.hostCpu.empty())
    m.hostFeatures.clear();
  if (m.hasCuda)
    m.cudaPtx = "kernels.ptx";
  m.arenaBytes = static_cast<uint64_t>(plan.arenaBytes);
  m.preparedBytes = static_cast<uint64_t>(plan.preparedBytes);
  m.activationBytesTotal = static_cast<uint64_t>(plan.activationBytesTotal);
  return success(dlart::renderManifest(m, text, error));
}

LogicalResult
mlir::dla::writeManifest(ModuleOp module,
                         const std::map<Operation *, KernelLaunch> &launches,
                         const dlart::Manifest &targets, llvm::StringRef dir,
                         std::string &error) {
  std::string text;
  if (failed(renderManifest(module, launches, targets, text, error)))
    return failure();
  if (std::error_code ec = llvm::sys::fs::create_directories(dir)) {
    error = "cannot create '" + dir.str() + "': " + ec.message();
    return failure();
  }
  llvm::SmallString<256> path(dir);
  llvm::sys::path::append(path, "manifest.json");
  std::error_code ec;
  llvm::raw_fd_ostream out(path, ec);
  if (ec) {
    error = "cannot write '" + path.str().str() + "': " + ec.message();
    return failure();
  }
  out << text;
  out.close();
  if (out.has_error()) {
    error = "cannot write '" + path.str().str() + "': " +
            out.error().message();
    out.clear_error();
    return failure();
  }
  return success();
}
