# -*- Python -*-
# Configuration of the dla lit suite (check-dla).

import os
import shutil
import subprocess

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "DLA"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".json", ".test", ".py"]
config.excludes = ["lit.cfg.py", "lit.site.cfg.py", "Inputs", "unit", "reference",
                   "CMakeLists.txt"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.dla_obj_root, "test")

llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)

# The repository root and the reference facts the tests use (test/reference:
# CenterNet's DLASeg-34 state-dict listing). Nothing outside the repository
# is read.
config.substitutions.append(("%dla_src", config.dla_src_root))
config.substitutions.append(("%examples", os.path.join(config.dla_src_root, "examples")))
# A build under AddressSanitizer/UBSan (scripts/sanitize.sh): its libdlart
# cannot be loaded into the uninstrumented Python interpreter.
if str(getattr(config, "dla_sanitizers", "OFF")).upper() in ("ON", "1", "TRUE", "YES"):
    config.available_features.add("sanitizers")

# The runtime library, for the Python binding's tests (DLART_LIBRARY).
config.substitutions.append(
    ("%libdlart", os.path.join(config.dla_obj_root, "lib", "libdlart.so")))
config.substitutions.append(
    ("%reference", os.path.join(config.dla_src_root, "test", "reference")))
# The build tree and the cmake that configured it, for the test of
# `cmake --install` (Runtime/install.test).
config.substitutions.append(("%dla_obj_root", config.dla_obj_root))
config.substitutions.append(("%cmake", config.cmake_command))

# The PyTorch oracle runs with the system interpreter, where Debian's
# python3-torch and python3-torchvision live.
python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else "python3"
config.substitutions.append(("%python", python))
try:
    subprocess.run([python, "-c", "import torch, torchvision"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
    config.available_features.add("torch")
except Exception:
    pass

# numpy in that interpreter, for the Python runtime's tests (python/dlart)
# that need no torch.
try:
    subprocess.run([python, "-c", "import numpy"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
    config.available_features.add("numpy")
except Exception:
    pass

# A real GPU (driver + device) is needed only by tests marked REQUIRES: cuda-gpu.
if shutil.which("nvidia-smi"):
    try:
        subprocess.run(["nvidia-smi", "-L"], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=30)
        config.available_features.add("cuda-gpu")
    except Exception:
        pass
# ptxas from the CUDA toolkit, for tests that assemble PTX to cubin.
cuda = os.environ.get("CUDA_HOME", "/usr/local/cuda")
ptxas = os.path.join(cuda, "bin", "ptxas")
if not os.path.exists(ptxas):
    ptxas = shutil.which("ptxas")
if ptxas:
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", ptxas))

# An AVX-512 CPU, for tests that run kernels compiled for one.
try:
    with open("/proc/cpuinfo") as f:
        if " avx512f" in f.read():
            config.available_features.add("avx512")
except OSError:
    pass

# The fake CUDA driver (test/Runtime/fake_cuda), for DLART_CUDA_DRIVER.
config.substitutions.append(
    ("%fake_cuda_driver",
     os.path.join(config.dla_obj_root, "test", "Runtime", "fake_cuda",
                  "libdla_fake_cuda.so")))
# The fake driver's settings and the runtime's driver choice come from the
# environment; never inherit them from the caller.
for var in ["DLART_CUDA_DRIVER", "DLA_FAKE_CUDA_DEVICES", "DLA_FAKE_CUDA_NAME",
            "DLA_FAKE_CUDA_CC", "DLA_FAKE_CUDA_MEMORY", "DLA_FAKE_CUDA_FAIL",
            "DLA_FAKE_CUDA_TRACE"]:
    config.environment.pop(var, None)

# The host thread count of every dla-run without --threads: pass it through,
# so that the suite can be run at 1 or 2 threads (docs/testing.md).
if "DLART_THREADS" in os.environ:
    config.environment["DLART_THREADS"] = os.environ["DLART_THREADS"]

tool_dirs = [config.dla_tools_dir, config.llvm_tools_dir]
tools = ["dla-opt", ToolSubst("dlac", unresolved="ignore"),
         ToolSubst("dla-run", unresolved="ignore")]
llvm_config.add_tool_substitutions(tools, tool_dirs)
