"""dlart: run dlac bundles from Python (a ctypes binding of libdlart's C API).

    import dlart, numpy as np
    m = dlart.Model("ctdet.dlab", weights="ctdet.safetensors", device="host")
    out = m(np.zeros((1, 3, 512, 512), np.float32))   # dict name -> ndarray
    m.inputs, m.outputs                                # names, shapes, dtypes
    m.benchmark(iterations=50, warmup=5)               # dict of figures
    ctx = m.context()                                  # one per thread
    out = ctx(x)                                       # as m(x), concurrently

No compiler is needed at import time: the shared library is found through
the environment variable DLART_LIBRARY (a path to libdlart.so), else, for
a package installed by `cmake --install` (<prefix>/lib/python3/dist-packages/
dlart), the libdlart.so of the same prefix (<prefix>/lib, found relative to
this file: the prefix may be moved), else, in a source tree, the build's
(<repo>/build/lib), else by the dynamic loader's search path. Every failure of
the runtime raises dlart.Error carrying its message and status; inputs of
the wrong shape, dtype or number are refused before anything runs. The
arrays a call returns are new arrays of their own: later calls never
overwrite them. A Model runs one call at a time (the runtime refuses a
second thread with DLART_ERROR_STATE); to run one loaded model on several
threads at once, give each thread a Context (Model.context()): its own
inputs, outputs and activation memory over the model's weights, with the
same call interface. The calls release the GIL while the model runs.
docs/runtime.md has the C API it wraps.
"""

import ctypes
import os
import statistics
import time

import numpy as np

__all__ = ["Model", "Context", "Error", "TensorInfo", "library_path"]

_STATUS = {0: "ok", 1: "invalid argument", 2: "bundle", 3: "weights", 4: "device",
           5: "state", 6: "internal"}
_DEVICES = {"host": 0, "cuda": 1, "cuda-emu": 2}


class Error(RuntimeError):
    """A libdlart failure: `status` (its dlart_status name) and the message."""

    def __init__(self, message, status="invalid argument"):
        super().__init__(message)
        self.status = status


class TensorInfo(tuple):
    """(name, shape, dtype) of a model input or output."""

    __slots__ = ()

    def __new__(cls, name, shape, dtype="float32"):
        return super().__new__(cls, (name, tuple(shape), dtype))

    name = property(lambda self: self[0])
    shape = property(lambda self: self[1])
    dtype = property(lambda self: self[2])

    def __repr__(self):
        return "TensorInfo(name={!r}, shape={}, dtype={!r})".format(*self)


class _CTensorInfo(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("rank", ctypes.c_int32),
                ("shape", ctypes.POINTER(ctypes.c_int64)),
                ("num_elements", ctypes.c_int64), ("bytes", ctypes.c_uint64)]


def library_path():
    """The libdlart.so this package loads (see the module docstring)."""
    env = os.environ.get("DLART_LIBRARY")
    if env:
        return env
    here = os.path.dirname(os.path.abspath(__file__))
    try:  # written by `cmake --install` (CMakeLists.txt), absent in the sources
        from . import _installed
    except ImportError:
        _installed = None
    if _installed is not None:
        # An installed package uses its own prefix's library, or none.
        return os.path.normpath(os.path.join(here, _installed.LIBRARY))
    candidate = os.path.join(here, "..", "..", "build", "lib", "libdlart.so")
    if os.path.exists(candidate):
        return os.path.normpath(candidate)
    return "libdlart.so"


_lib = None


def _library():
    global _lib
    if _lib is not None:
        return _lib
    path = library_path()
    try:
        lib = ctypes.CDLL(path)
    except OSError as e:
        raise Error("cannot load libdlart ({}): {}; build the project or set "
                    "DLART_LIBRARY".format(path, e), "internal") from None
    P, S, I = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int
    sigs = {
        "dlart_last_error": ([], ctypes.c_char_p),
        "dlart_open": ([ctypes.c_char_p, ctypes.POINTER(P)], I),
        "dlart_close": ([P], None),
        "dlart_model_name": ([P], ctypes.c_char_p),
        "dlart_device_info": ([P], ctypes.c_char_p),
        "dlart_set_threads": ([P, I], I),
        "dlart_set_device": ([P, I], I),
        "dlart_set_allow_nonfinite": ([P, I], I),
        "dlart_load_weights": ([P, ctypes.c_char_p], I),
        "dlart_warnings": ([P], ctypes.c_char_p),
        "dlart_num_inputs": ([P], S),
        "dlart_num_outputs": ([P], S),
        "dlart_input_info": ([P, S, ctypes.POINTER(_CTensorInfo)], I),
        "dlart_output_info": ([P, S, ctypes.POINTER(_CTensorInfo)], I),
        "dlart_forward": ([P, ctypes.POINTER(P), ctypes.POINTER(P)], I),
        "dlart_context_create": ([P, ctypes.POINTER(P)], I),
        "dlart_context_destroy": ([P], None),
        "dlart_context_set_threads": ([P, I], I),
        "dlart_context_info": ([P], ctypes.c_char_p),
        "dlart_context_forward": ([P, ctypes.POINTER(P), ctypes.POINTER(P)], I),
    }
    for name, (args, res) in sigs.items():
        fn = getattr(lib, name)
        fn.argtypes, fn.restype = args, res
    _lib = lib
    return lib


def _check(status):
    if status != 0:
        msg = _library().dlart_last_error() or b""
        raise Error(msg.decode("utf-8", "replace"), _STATUS.get(status, str(status)))


class _Runner:
    """What Model and Context share: the inputs and outputs, the call, the
    benchmark. Subclasses give _live() (their handle) and _forward."""

    def _inputs(self, args, kwargs):
        if args and kwargs:
            raise Error("give the inputs either in order or by name, not both")
        if len(args) == 1 and isinstance(args[0], dict):
            kwargs, args = args[0], ()
        names = [t.name for t in self.inputs]
        if kwargs:
            unknown = sorted(set(kwargs) - set(names))
            missing = [n for n in names if n not in kwargs]
            if unknown or missing:
                raise Error("inputs: {}{}{} (the model takes {})".format(
                    "unknown " + ", ".join(map(repr, unknown)) if unknown else "",
                    "; " if unknown and missing else "",
                    "missing " + ", ".join(map(repr, missing)) if missing else "",
                    ", ".join(map(repr, names))))
            args = [kwargs[n] for n in names]
        if len(args) != len(names):
            raise Error("expected {} input(s) ({}), got {}".format(
                len(names), ", ".join(map(repr, names)), len(args)))
        arrays = []
        for info, a in zip(self.inputs, args):
            if not isinstance(a, np.ndarray):
                raise Error("input {!r}: expected a numpy array, got {}".format(
                    info.name, type(a).__name__))
            if a.dtype != np.float32:
                raise Error("input {!r}: expected dtype float32, got {} (convert with "
                            ".astype(np.float32))".format(info.name, a.dtype))
            if tuple(a.shape) != info.shape:
                raise Error("input {!r}: expected shape {}, got {}".format(
                    info.name, list(info.shape), list(a.shape)))
            arrays.append(np.ascontiguousarray(a))
        return arrays

    def __call__(self, *args, **kwargs):
        """Runs one inference; returns {output name: new float32 array}."""
        handle = self._live()
        arrays = self._inputs(args, kwargs)
        outs = [np.empty(t.shape, np.float32) for t in self.outputs]
        ins = (ctypes.c_void_p * len(arrays))(*[a.ctypes.data for a in arrays])
        res = (ctypes.c_void_p * len(outs))(*[o.ctypes.data for o in outs])
        _check(self._forward(handle, ins, res))
        return {t.name: o for t, o in zip(self.outputs, outs)}

    def benchmark(self, iterations=50, warmup=5, inputs=None):
        """Times `iterations` calls after `warmup` (inputs: as for a call,
        default zeros); returns a dict of figures in milliseconds."""
        if not isinstance(iterations, int) or iterations < 1:
            raise Error("iterations: expected an integer >= 1, got {!r}".format(iterations))
        if not isinstance(warmup, int) or warmup < 0:
            raise Error("warmup: expected an integer >= 0, got {!r}".format(warmup))
        if inputs is None:
            inputs = [np.zeros(t.shape, np.float32) for t in self.inputs]
        args = (inputs,) if isinstance(inputs, dict) else tuple(inputs)
        for _ in range(warmup):
            self(*args)
        times = []
        for _ in range(iterations):
            t0 = time.perf_counter()
            self(*args)
            times.append((time.perf_counter() - t0) * 1e3)
        times.sort()
        batch = self.inputs[0].shape[0] if self.inputs and self.inputs[0].shape else 1
        median = statistics.median(times)
        return {"iterations": iterations, "warmup": warmup, "min_ms": times[0],
                "median_ms": median, "mean_ms": statistics.fmean(times),
                "p90_ms": times[min(len(times) - 1, int(0.9 * len(times)))],
                "max_ms": times[-1], "images_per_s": batch * 1e3 / median,
                "device": self.device_info}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


class Model(_Runner):
    """A bundle opened on a device with its weights loaded and init run.

    bundle   the .dlab directory written by dlac
    weights  a safetensors checkpoint (None: the bundle's weights.safetensors)
    device   "host", "cuda" or "cuda-emu" (the CUDA kernels on this CPU)
    threads  host threads (None: DLART_THREADS, else one per core)
    allow_nonfinite  accept NaN/Inf parameters instead of refusing them
    """

    def __init__(self, bundle, weights=None, device="host", threads=None,
                 allow_nonfinite=False):
        lib = _library()
        if device not in _DEVICES:
            raise Error("device: expected one of {}, got {!r}".format(
                ", ".join(repr(d) for d in _DEVICES), device))
        if threads is not None and (not isinstance(threads, int) or not 1 <= threads <= 4096):
            raise Error("threads: expected an integer from 1 to 4096, got {!r}".format(threads))
        handle = ctypes.c_void_p()
        _check(lib.dlart_open(os.fsencode(bundle), ctypes.byref(handle)))
        self._handle = handle
        try:
            if threads is not None:
                _check(lib.dlart_set_threads(handle, threads))
            _check(lib.dlart_set_allow_nonfinite(handle, 1 if allow_nonfinite else 0))
            _check(lib.dlart_set_device(handle, _DEVICES[device]))
            _check(lib.dlart_load_weights(
                handle, None if weights is None else os.fsencode(weights)))
            self.inputs = self._infos(lib.dlart_num_inputs, lib.dlart_input_info)
            self.outputs = self._infos(lib.dlart_num_outputs, lib.dlart_output_info)
        except BaseException:
            self.close()
            raise
        self.bundle = bundle
        self.device = device

    def _infos(self, count, info):
        out = []
        for i in range(count(self._handle)):
            t = _CTensorInfo()
            _check(info(self._handle, i, ctypes.byref(t)))
            out.append(TensorInfo(t.name.decode(), [t.shape[d] for d in range(t.rank)]))
        return out

    @property
    def name(self):
        return _library().dlart_model_name(self._live()).decode()

    @property
    def device_info(self):
        return _library().dlart_device_info(self._live()).decode()

    @property
    def warnings(self):
        return _library().dlart_warnings(self._live()).decode()

    def _live(self):
        if self._handle is None:
            raise Error("the model is closed", "state")
        return self._handle

    def _forward(self, handle, ins, res):
        return _library().dlart_forward(handle, ins, res)

    def context(self, threads=None):
        """A new execution context of this model (see Context)."""
        return Context(self, threads)

    def close(self):
        """Frees the model (also done when it is garbage-collected); its
        contexts keep working until they are closed."""
        if getattr(self, "_handle", None) is not None:
            _library().dlart_close(self._handle)
            self._handle = None

    def __repr__(self):
        state = "closed" if self._handle is None else self.device_info
        return "dlart.Model({!r}, {})".format(getattr(self, "bundle", "?"), state)


class Context(_Runner):
    """An execution context of a Model: its own inputs, outputs and
    activation memory (and host threads or CUDA stream) over the model's
    weights, called exactly as the Model is (ctx(x), ctx.benchmark(...)).
    Contexts of one model run at the same time on different threads, each
    one call at a time; outputs are bit-identical to the model's. Reloading
    the model's weights is refused while a context runs.

    threads  host threads of this context (None: the model's count)
    """

    def __init__(self, model, threads=None):
        lib = _library()
        if not isinstance(model, Model):
            raise Error("Context: expected a dlart.Model, got {}".format(type(model).__name__))
        if threads is not None and (not isinstance(threads, int) or not 1 <= threads <= 4096):
            raise Error("threads: expected an integer from 1 to 4096, got {!r}".format(threads))
        handle = ctypes.c_void_p()
        _check(lib.dlart_context_create(model._live(), ctypes.byref(handle)))
        self._handle = handle
        try:
            if threads is not None:
                _check(lib.dlart_context_set_threads(handle, threads))
        except BaseException:
            self.close()
            raise
        self.model = model
        self.inputs, self.outputs = model.inputs, model.outputs
        self.device = model.device

    def _live(self):
        if self._handle is None:
            raise Error("the context is closed", "state")
        return self._handle

    def _forward(self, handle, ins, res):
        return _library().dlart_context_forward(handle, ins, res)

    @property
    def device_info(self):
        return _library().dlart_context_info(self._live()).decode()

    def close(self):
        """Frees the context (also done when it is garbage-collected)."""
        if getattr(self, "_handle", None) is not None:
            _library().dlart_context_destroy(self._handle)
            self._handle = None

    def __repr__(self):
        state = "closed" if self._handle is None else self.device_info
        return "dlart.Context({!r}, {})".format(getattr(self.model, "bundle", "?"), state)
