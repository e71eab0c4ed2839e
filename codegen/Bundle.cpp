//===- Bundle.cpp - Memory plan and manifest of a dlac bundle -------------===//

#include "codegen/Bundle.h"

#include "codegen/KernelInfo.h"
#include "dialects/DLA/IR/DLAOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <numeric>
#include <optional>

using namespace mlir;
using namespace mlir::dla;
using json = nlohmann::ordered_json;

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
  return shaped.getNumElements() *
         ((shaped.getElementTypeBitWidth() + 7) / 8);
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

/// Writes JSON with 2-space indentation, keeping objects and arrays that hold
/// only scalars and arrays of scalars on one line (a buffer, a step, a shape).
class Printer {
public:
  explicit Printer(llvm::raw_ostream &os) : os(os) {}
  void print(const json &v, int indent) {
    if (flat(v)) {
      printInline(v);
      return;
    }
    bool object = v.is_object();
    os << (object ? "{" : "[");
    bool first = true;
    for (auto it = v.begin(); it != v.end(); ++it) {
      os << (first ? "\n" : ",\n");
      first = false;
      os.indent(indent + 2);
      if (object)
        os << json(it.key()).dump() << ": ";
      print(it.value(), indent + 2);
    }
    if (!first) {
      os << "\n";
      os.indent(indent);
    }
    os << (object ? "}" : "]");
  }

private:
  /// `{"a": 1, "b": [1, 2]}`: on one line, with a space after ':' and ','.
  void printInline(const json &v) {
    if (v.is_primitive()) {
      os << v.dump();
      return;
    }
    bool object = v.is_object();
    os << (object ? "{" : "[");
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (it != v.begin())
        os << ", ";
      if (object)
        os << json(it.key()).dump() << ": ";
      printInline(it.value());
    }
    os << (object ? "}" : "]");
  }
  static bool scalarArray(const json &v) {
    return v.is_array() &&
           std::all_of(v.begin(), v.end(),
                       [](const json &e) { return e.is_primitive(); });
  }
  static bool flat(const json &v) {
    if (v.is_primitive() || scalarArray(v))
      return true;
    if (v.empty())
      return true;
    return v.is_object() &&
           std::all_of(v.begin(), v.end(), [](const json &e) {
             return e.is_primitive() || scalarArray(e);
           });
  }
  llvm::raw_ostream &os;
};

json shapeOf(Type type) {
  json shape = json::array();
  for (int64_t d : llvm::cast<RankedTensorType>(type).getShape())
    shape.push_back(d);
  return shape;
}

bool isF32(Type type) {
  auto t = llvm::dyn_cast<RankedTensorType>(type);
  return t && t.getElementType().isF32();
}

} // namespace

LogicalResult
mlir::dla::renderManifest(ModuleOp module,
                          const std::map<Operation *, KernelLaunch> &launches,
                          const BundleTargets &targets, std::string &text,
                          std::string &error) {
  auto fail = [&](const std::string &msg) {
    error = msg;
    return failure();
  };
  MemoryPlan plan = planMemory(module);
  if (!plan.error.empty())
    return fail(plan.error);
  if (!targets.host && !targets.cuda)
    return fail("the bundle has no target (host or cuda)");
  if (targets.cuda && (targets.archs.empty() || targets.cudaBinary.empty()))
    return fail("the cuda target needs architectures and a binary name");

  auto forward = module.lookupSymbol<func::FuncOp>(kForwardFunction);
  auto init = module.lookupSymbol<func::FuncOp>(kInitFunction);

  json buffers = json::array();
  llvm::DenseMap<Value, int64_t> bufferOf;
  auto addBuffer = [&](const char *kind, int64_t bytes,
                       std::optional<int64_t> offset = std::nullopt) {
    int64_t id = static_cast<int64_t>(buffers.size());
    json b = {{"id", id}, {"kind", kind}, {"bytes", bytes}};
    if (offset)
      b["offset"] = *offset;
    buffers.push_back(b);
    return id;
  };
  // A caller-visible tensor (input, output, parameter) needs a shape and f32.
  auto tensorEntry = [&](const std::string &name, Type type, int64_t buffer,
                         const std::string &what) -> std::optional<json> {
    if (bytesOf(type) <= 0 || !isF32(type)) {
      std::string s;
      llvm::raw_string_ostream os(s);
      os << what << " '" << name << "' has type " << type
         << "; format version 1 holds non-empty, statically shaped f32 tensors";
      error = s;
      return std::nullopt;
    }
    return json{{"name", name},
                {"shape", shapeOf(type)},
                {"dtype", "f32"},
                {"buffer", buffer}};
  };

  // Inputs: @forward's arguments.
  json inputs = json::array();
  for (BlockArgument arg : forward.getArguments()) {
    unsigned i = arg.getArgNumber();
    auto attr = forward.getArgAttrOfType<StringAttr>(i, kNameAttr);
    std::string name = attr ? attr.str()
                            : forward.getNumArguments() == 1
                                  ? "input"
                                  : "input_" + std::to_string(i);
    int64_t id = addBuffer("input", bytesOf(arg.getType()));
    auto entry = tensorEntry(name, arg.getType(), id, "input");
    if (!entry)
      return failure();
    inputs.push_back(*entry);
    bufferOf[arg] = id;
  }
  if (inputs.empty())
    return fail("@forward has no input");

  // Outputs: @forward's results, each written by its own kernel.
  json outputs = json::array();
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
    int64_t id = addBuffer("output", bytesOf(v.getType()));
    auto entry = tensorEntry(name, v.getType(), id, "output");
    if (!entry)
      return failure();
    outputs.push_back(*entry);
    bufferOf[v] = id;
  }

  // Parameters, one per name, in order of first appearance.
  json parameters = json::array();
  llvm::StringMap<std::pair<int64_t, Type>> paramByName;
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
      int64_t id = addBuffer("parameter", bytesOf(p.getType()));
      auto entry = tensorEntry(name, p.getType(), id, "parameter");
      if (!entry)
        return WalkResult::interrupt();
      parameters.push_back(*entry);
      paramByName[name] = {id, p.getType()};
      bufferOf[p.getResult()] = id;
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      return failure();
  }

  // Prepared tensors, and the names @forward reads them by (a parameter
  // returned by @init as it is stands for itself).
  llvm::StringMap<std::pair<int64_t, Type>> preparedByName;
  for (const PlannedPrepared &p : plan.prepared) {
    if (p.bytes == 0)
      return fail("prepared tensor '" + p.names.front() + "' is empty");
    int64_t id = addBuffer("prepared", p.bytes, p.offset);
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
    bufferOf[a.value] = addBuffer("activation", a.bytes, a.offset);
  }

  // Steps.
  auto steps = [&](func::FuncOp f, json &out) -> LogicalResult {
    out = json::array();
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
      for (int64_t d : l.grid)
        if (d < 1)
          return fail("kernel '" + l.name + "' has an empty grid");
      for (int64_t d : l.block)
        if (d < 1)
          return fail("kernel '" + l.name + "' has an empty block");
      if (l.sharedBytes < 0)
        return fail("kernel '" + l.name + "' has negative shared memory");
      json args = json::array();
      for (auto [i, v] : llvm::enumerate(op->getOperands())) {
        auto b = bufferOf.find(v);
        if (b == bufferOf.end())
          return fail("operand #" + std::to_string(i) + " of kernel '" +
                      l.name + "' is no buffer of the bundle (" +
                      describe(v) + ")");
        args.push_back(b->second);
      }
      for (Value v : op->getResults())
        args.push_back(bufferOf.lookup(v)); // every kernel result has one
      if (args.empty())
        return fail("kernel '" + l.name + "' reads and writes no buffer");
      json step = {{"kernel", l.name},
                   {"grid", l.grid},
                   {"block", l.block},
                   {"shared_bytes", l.sharedBytes}};
      if (targets.host && l.hostBlocks > 0 &&
          l.hostBlocks != l.grid[0] * l.grid[1] * l.grid[2]) {
        if (l.hostBlocks > 0x7fffffff)
          return fail("kernel '" + l.name + "' has too many host blocks");
        step["host_blocks"] = l.hostBlocks;
      }
      if (targets.host && l.hostWorkspaceBytes > 0)
        step["host_workspace_bytes"] = l.hostWorkspaceBytes;
      if (targets.host && l.hostWaves.size() > 1)
        step["host_waves"] = l.hostWaves;
      step["args"] = args;
      // The kernel writes its results, the last args (the runtime checks
      // the steps as a dataflow with it).
      step["writes"] = op->getNumResults();
      out.push_back(std::move(step));
    }
    return success();
  };
  json initSteps, forwardSteps;
  if (failed(steps(init, initSteps)) || failed(steps(forward, forwardSteps)))
    return failure();

  json root;
  root["format"] = "dlab";
  root["version"] = 1;
  std::optional<StringRef> model = module.getSymName();
  root["model"] = model && !model->empty() ? model->str() : "model";
  root["producer"] = "dlac 0.1.0";
  if (targets.host) {
    root["host"] = {{"library", "kernels.so"}};
    if (!targets.hostCpu.empty()) {
      root["host"]["cpu"] = targets.hostCpu;
      root["host"]["features"] = targets.hostFeatures;
    }
  }
  if (targets.cuda)
    root["cuda"] = {{"archs", targets.archs},
                    {"binary", targets.cudaBinary},
                    {"ptx", "kernels.ptx"}};
  if (!targets.files.empty()) {
    json files = json::object();
    for (const BundleFile &f : targets.files)
      files[f.name] = {{"bytes", f.bytes}, {"sha256", f.sha256}};
    root["files"] = files;
  }
  root["inputs"] = inputs;
  root["outputs"] = outputs;
  root["parameters"] = parameters;
  if (!targets.ignoredParameters.empty())
    root["ignored_parameters"] = targets.ignoredParameters;
  root["buffers"] = buffers;
  root["memory"] = {{"arena_bytes", plan.arenaBytes},
                    {"prepared_bytes", plan.preparedBytes},
                    {"activation_bytes_total", plan.activationBytesTotal}};
  root["init"] = initSteps;
  root["forward"] = forwardSteps;

  text.clear();
  llvm::raw_string_ostream os(text);
  Printer(os).print(root, 0);
  os << "\n";
  return success();
}

LogicalResult
mlir::dla::writeManifest(ModuleOp module,
                         const std::map<Operation *, KernelLaunch> &launches,
                         const BundleTargets &targets, llvm::StringRef dir,
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
