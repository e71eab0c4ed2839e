//===- Options.cpp - dlac's command line ----------------------------------===//

#include "tools/dlac/Driver.h"

namespace cl = llvm::cl;

namespace dlac {

cl::OptionCategory dlacCategory("dlac options");

cl::opt<std::string> inputFile(cl::Positional,
                               cl::desc("<model.json, or IR.mlir of any stage dlac emits>"),
                               cl::Required, cl::cat(dlacCategory));
cl::opt<std::string> outputFile("o", cl::desc("Output file ('-' for stdout)"),
                                cl::value_desc("file"), cl::init("-"),
                                cl::cat(dlacCategory));
cl::opt<Emit> emit(
    "emit", cl::desc("Stage to print"), cl::init(Emit::Prim),
    cl::values(
        clEnumValN(Emit::Spec, "spec",
                   "the resolved model description: presets expanded, "
                   "defaults filled in, sizes derived"),
        clEnumValN(Emit::DLA, "dla", "structural dla IR, one op per JSON construct"),
        clEnumValN(Emit::Prim, "prim",
                   "primitive dla IR after dla-expand and clean-up (default)"),
        clEnumValN(Emit::Fused, "fused",
                   "fused dla IR: one op per kernel, with @init for the "
                   "parameter-only work (the dla-fuse pipeline)"),
        clEnumValN(Emit::Dot, "dot",
                   "Graphviz graph of the fused network: one box per kernel "
                   "with its name and GFLOP (render with `dot -Tsvg`)"),
        clEnumValN(Emit::Kernel, "kernel",
                   "the fused IR with its host kernels (dla-lower-to-cpu-kernels): "
                   "each op names its kernel, a func on memrefs in @host_kernels"),
        clEnumValN(Emit::Gpu, "gpu",
                   "the fused IR with its CUDA kernels (dla-lower-to-gpu-kernels): "
                   "gpu.func with workgroup memory in gpu.module @kernels"),
        clEnumValN(Emit::LLVM, "llvm", "host kernels lowered to the LLVM dialect"),
        clEnumValN(Emit::PTX, "ptx", "PTX of the CUDA kernels (first --arch)"),
        clEnumValN(Emit::Emu, "emu",
                   "the CUDA kernels lowered for the host with GPU semantics "
                   "(the cuda-emu device's kernels-emu.so), in the LLVM dialect"),
        clEnumValN(Emit::Bundle, "bundle",
                   "the bundle directory -o DIR (default when -o ends in .dlab)"),
        clEnumValN(Emit::Params, "params",
                   "every parameter a checkpoint may hold: 'key [shape]' per "
                   "line, as PyTorch's state_dict (without num_batches_tracked)")),
    cl::cat(dlacCategory));
cl::opt<bool> runReference(
    "run-reference",
    cl::desc("Run the model with the reference executor (plain loops, the "
             "oracle): needs --weights and --input; writes the outputs to -o "
             "as safetensors"),
    cl::cat(dlacCategory));
cl::opt<Stage> referenceStage(
    "reference-stage",
    cl::desc("IR the reference executor runs (--run-reference)"),
    cl::init(Stage::Prim),
    cl::values(clEnumValN(Stage::Prim, "prim",
                          "primitive ops: the oracle, as PyTorch computes"),
               clEnumValN(Stage::Fused, "fused",
                          "fused ops and @init: checks the fusion passes")),
    cl::cat(dlacCategory));
cl::opt<Target> target(
    "target", cl::desc("What the bundle holds"), cl::init(Target::All),
    cl::values(clEnumValN(Target::Host, "host",
                          "kernels.so for this CPU (with the CPU kernels, also the "
                          "fusions only they implement: dla-fuse-residual-projection, "
                          "dla-fuse-conv-tail)"),
               clEnumValN(Target::Cuda, "cuda", "kernels.cubin/.fatbin + kernels.ptx"),
               clEnumValN(Target::All, "all", "both (default)")),
    cl::cat(dlacCategory));
cl::list<std::string> archs("arch", cl::desc("CUDA architectures (default sm_90)"),
                            cl::CommaSeparated, cl::value_desc("sm_XX,..."),
                            cl::cat(dlacCategory));
cl::opt<std::string> hostCpu("host-cpu",
                             cl::desc("CPU the host kernels are compiled for, an LLVM "
                                      "CPU name (default native: this machine's); "
                                      "sets the SIMD width of the CPU kernels. The "
                                      "bundle records the CPU's features and the "
                                      "runtime refuses it on a machine without them: "
                                      "to deploy elsewhere, name a level every target "
                                      "has (x86-64-v3: AVX2, x86-64-v4: AVX-512)"),
                             cl::value_desc("name"), cl::cat(dlacCategory));
// Retired: `gpu` ran the CUDA kernels' thread phases one after another on
// the host; cuda-emu (dla-run --device cuda-emu) runs them with their GPU
// semantics. Kept, hidden, so that a script still passing it gets an error
// that says what replaced it.
cl::opt<HostKernels> hostKernels(
    "host-kernels", cl::desc("Retired (the host runs the CPU kernels)"), cl::Hidden,
    cl::init(HostKernels::Cpu),
    cl::values(clEnumValN(HostKernels::Cpu, "cpu", "the CPU kernels (the only form)"),
               clEnumValN(HostKernels::Gpu, "gpu",
                          "retired: use --target cuda and dla-run --device cuda-emu")),
    cl::cat(dlacCategory));
cl::opt<CudaConvs> cudaConvs(
    "cuda-convs", cl::desc("Which CUDA kernels the convolutions of an f16, bf16 or tf32 "
                           "model get"),
    cl::init(CudaConvs::TensorCore),
    cl::values(clEnumValN(CudaConvs::TensorCore, "tensor-core",
                          "implicit GEMMs on mma.sync where they apply (default; "
                          "docs/codegen.md says where)"),
               clEnumValN(CudaConvs::Simt, "simt",
                          "the SIMT kernels everywhere (to compare the two)")),
    cl::cat(dlacCategory));
cl::opt<int64_t> cudaMinBlocks(
    "cuda-min-blocks",
    cl::desc("The tensor-core convs halve their channel tile (64, 32, 16) until a launch "
             "has this many blocks; the GPU's SM count (default 132, an H200)"),
    cl::init(132), cl::value_desc("N"), cl::cat(dlacCategory));
cl::opt<std::string> precision(
    "precision",
    cl::desc("Storage precision, overriding the model's \"precision\": f32, tf32, f16 or "
             "bf16 (docs/precision.md). Parameters fold in f32 and round once; activations "
             "are stored in it (tf32: f32 words holding tf32 values); products accumulate "
             "in f32; the model's inputs and outputs stay f32"),
    cl::value_desc("f32|tf32|f16|bf16"), cl::cat(dlacCategory));
cl::opt<std::string> cudaToolkit(
    "cuda-toolkit", cl::desc("CUDA toolkit holding ptxas (default $CUDA_HOME or /usr/local/cuda)"),
    cl::value_desc("dir"), cl::cat(dlacCategory));
cl::opt<bool> allowNonfinite(
    "allow-nonfinite",
    cl::desc("--run-reference: accept NaN/Inf in the weights and the input (and "
             "negative BatchNorm variances) instead of refusing them"),
    cl::cat(dlacCategory));
cl::opt<bool> report(
    "report",
    cl::desc("After compiling, print per kernel: launch shape, FLOPs, bytes "
             "read/written, shared memory, and (--target cuda) registers and "
             "spill bytes from ptxas -v; then totals"),
    cl::cat(dlacCategory));
cl::opt<std::string> weightsFile("weights",
                                 cl::desc("Checkpoint (safetensors, PyTorch "
                                          "state-dict keys)"),
                                 cl::value_desc("file"), cl::cat(dlacCategory));
cl::opt<std::string> inputTensors(
    "input",
    cl::desc("Input tensor (safetensors holding 'input', or a single tensor)"),
    cl::value_desc("file"), cl::cat(dlacCategory));

} // namespace dlac
