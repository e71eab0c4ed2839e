// RUN: dla-opt %s --split-input-file --dla-print-memory-plan -o /dev/null | FileCheck %s
//
// The manifest of the last case (each case rewrites %t/manifest.json, so the
// file holds the last one's).
// RUN: rm -rf %t && dla-opt %s --split-input-file --dla-print-memory-plan=manifest=%t -o /dev/null > /dev/null
// RUN: FileCheck %s --check-prefix=MANIFEST < %t/manifest.json
//
// DLASeg-34 CenterNet at 512x512.
// RUN: dlac %examples/ctdet_dla34.json --emit=fused --mlir-print-op-generic | dla-opt --dla-print-memory-plan -o /dev/null | FileCheck %s --check-prefix=DLA34
//
// Rules (codegen/Bundle.h): an activation is a kernel result that is not a
// model output (nor returned by @init); it lives from its kernel to its last
// reader (kernel indices, @init first); activations are placed largest
// first, ties in program order, at the lowest 256-aligned offset not
// overlapping an already placed activation whose lifetime meets its own. A
// kernel's result never reuses the memory of a tensor that kernel reads
// (their lifetimes meet at that kernel). tensor<1x4x8x8xf32> is 1024 bytes.

// A chain a -> b -> c -> d, d the output. a [0,1] at 0; b [1,2] meets a: at
// 1024; c [2,3] meets b only: at 0, a's memory. d is the caller's buffer.
// CHECK-LABEL: memory plan of @chain: 0 @init kernels, 4 @forward kernels
// CHECK: activation @forward:relu bytes 1024 offset 0 live [0, 1]
// CHECK-NEXT: activation @forward:sigmoid bytes 1024 offset 1024 live [1, 2]
// CHECK-NEXT: activation @forward:relu_2 bytes 1024 offset 0 live [2, 3]
// CHECK-NEXT: arena_bytes 2048 activation_bytes_total 3072 prepared_bytes 0
// CHECK-NEXT: arena/total 0.6667
// CHECK-NEXT: conflicts 0 misaligned 0
module @chain {
func.func @forward(%x: tensor<1x4x8x8xf32> {dla.name = "input"}) -> (tensor<1x4x8x8xf32> {dla.name = "out"}) {
  %a = dla.relu %x : tensor<1x4x8x8xf32>
  %b = dla.sigmoid %a : tensor<1x4x8x8xf32>
  %c = dla.relu %b : tensor<1x4x8x8xf32>
  %d = dla.sigmoid %c : tensor<1x4x8x8xf32>
  return %d : tensor<1x4x8x8xf32>
}
}

// -----

// A diamond: a feeds b and c, which meet in d; e is the output.
// a [0,2] at 0; b [1,3] meets a: 1024; c [2,3] meets a and b: 2048;
// d [3,4] meets b and c but not a (dead after kernel 2): 0.
// CHECK-LABEL: memory plan of @diamond: 0 @init kernels, 5 @forward kernels
// CHECK: activation @forward:relu bytes 1024 offset 0 live [0, 2]
// CHECK-NEXT: activation @forward:sigmoid bytes 1024 offset 1024 live [1, 3]
// CHECK-NEXT: activation @forward:relu_2 bytes 1024 offset 2048 live [2, 3]
// CHECK-NEXT: activation @forward:add bytes 1024 offset 0 live [3, 4]
// CHECK-NEXT: arena_bytes 3072 activation_bytes_total 4096 prepared_bytes 0
// CHECK: conflicts 0 misaligned 0
module @diamond {
func.func @forward(%x: tensor<1x4x8x8xf32> {dla.name = "input"}) -> (tensor<1x4x8x8xf32> {dla.name = "out"}) {
  %a = dla.relu %x : tensor<1x4x8x8xf32>
  %b = dla.sigmoid %a : tensor<1x4x8x8xf32>
  %c = dla.relu %a : tensor<1x4x8x8xf32>
  %d = dla.add %b, %c : tensor<1x4x8x8xf32>
  %e = dla.relu %d : tensor<1x4x8x8xf32>
  return %e : tensor<1x4x8x8xf32>
}
}

// -----

// A 4096-byte value a read by two later kernels (1 and 4), and 1024-byte
// values placed after it (largest first). a [0,4] at 0; p [1,2]: 4096;
// q [2,3] meets a and p: 5120; u [3,5] meets a and q but not p: 4096, p's
// memory; s [4,5] is written by the last reader of a, so it meets a (no
// in-place reuse) and u: 5120, q's memory.
// CHECK-LABEL: memory plan of @shared: 0 @init kernels, 6 @forward kernels
// CHECK: activation @forward:relu bytes 4096 offset 0 live [0, 4]
// CHECK-NEXT: activation @forward:max_pool2d bytes 1024 offset 4096 live [1, 2]
// CHECK-NEXT: activation @forward:relu_2 bytes 1024 offset 5120 live [2, 3]
// CHECK-NEXT: activation @forward:sigmoid bytes 1024 offset 4096 live [3, 5]
// CHECK-NEXT: activation @forward:max_pool2d_2 bytes 1024 offset 5120 live [4, 5]
// CHECK-NEXT: arena_bytes 6144 activation_bytes_total 8192 prepared_bytes 0
// CHECK-NEXT: arena/total 0.7500
// CHECK-NEXT: conflicts 0 misaligned 0
module @shared {
func.func @forward(%x: tensor<1x4x16x16xf32> {dla.name = "input"}) -> (tensor<1x4x8x8xf32> {dla.name = "out"}) {
  %a = dla.relu %x : tensor<1x4x16x16xf32>
  %p = dla.max_pool2d %a kernel [2, 2] stride [2, 2] padding [0, 0] : tensor<1x4x16x16xf32> -> tensor<1x4x8x8xf32>
  %q = dla.relu %p : tensor<1x4x8x8xf32>
  %u = dla.sigmoid %q : tensor<1x4x8x8xf32>
  %s = dla.max_pool2d %a kernel [2, 2] stride [2, 2] padding [0, 0] : tensor<1x4x16x16xf32> -> tensor<1x4x8x8xf32>
  %o = dla.add %u, %s : tensor<1x4x8x8xf32>
  return %o : tensor<1x4x8x8xf32>
}
}

// -----

// Alignment: 36-byte tensors still start at multiples of 256. a [0,1] at 0,
// b [1,2] at 256, c [2,3] at 0; the arena ends at 256 + 36 and, for tensors
// this small, exceeds their sum (108 bytes).
// CHECK-LABEL: memory plan of @small: 0 @init kernels, 4 @forward kernels
// CHECK: activation @forward:relu bytes 36 offset 0 live [0, 1]
// CHECK-NEXT: activation @forward:sigmoid bytes 36 offset 256 live [1, 2]
// CHECK-NEXT: activation @forward:relu_2 bytes 36 offset 0 live [2, 3]
// CHECK-NEXT: arena_bytes 292 activation_bytes_total 108 prepared_bytes 0
// CHECK: conflicts 0 misaligned 0
module @small {
func.func @forward(%x: tensor<1x1x3x3xf32> {dla.name = "input"}) -> (tensor<1x1x3x3xf32> {dla.name = "out"}) {
  %a = dla.relu %x : tensor<1x1x3x3xf32>
  %b = dla.sigmoid %a : tensor<1x1x3x3xf32>
  %c = dla.relu %b : tensor<1x1x3x3xf32>
  %d = dla.sigmoid %c : tensor<1x1x3x3xf32>
  return %d : tensor<1x1x3x3xf32>
}
}

// -----

// Two outputs, one of them also read by a later kernel: neither is in the
// arena. a [0,1] at 0; c [2,3] at 0 (a is dead after kernel 1).
// CHECK-LABEL: memory plan of @outputs: 0 @init kernels, 4 @forward kernels
// CHECK: activation @forward:relu bytes 1024 offset 0 live [0, 1]
// CHECK-NEXT: activation @forward:relu_2 bytes 1024 offset 0 live [2, 3]
// CHECK-NEXT: arena_bytes 1024 activation_bytes_total 2048 prepared_bytes 0
// CHECK: conflicts 0 misaligned 0
module @outputs {
func.func @forward(%x: tensor<1x4x8x8xf32> {dla.name = "input"}) -> (tensor<1x4x8x8xf32> {dla.name = "first"}, tensor<1x4x8x8xf32> {dla.name = "second"}) {
  %a = dla.relu %x : tensor<1x4x8x8xf32>
  %b = dla.sigmoid %a : tensor<1x4x8x8xf32>
  %c = dla.relu %b : tensor<1x4x8x8xf32>
  %d = dla.sigmoid %c : tensor<1x4x8x8xf32>
  return %b, %d : tensor<1x4x8x8xf32>, tensor<1x4x8x8xf32>
}
}

// -----

// @init: the tensors it returns are packed into the prepared buffer in
// result order at 256-aligned offsets: c1's folded weight (4x3x1x1, 48 bytes)
// at 0, its bias (16 bytes) at 256, c2's folded weight (4x4x3x3, 576 bytes,
// returned under two names, stored once) at 512, the sigmoid (1024 bytes) at
// 1280 (512 + 576 = 1088, rounded up); 1280 + 1024 = 2304 bytes in all. A
// parameter returned as it is ("raw") is not copied.
// @init's intermediates share the arena with @forward's activations: c2's
// folded bias (kernel 1, unread) and the relu (kernel 2, read by 3) are dead
// before @forward's first kernel (4). Largest first: relu [2,3] at 0; y
// [4,5] at 0; z [5,6] meets y: 1024; t [6,7] meets z only: 0; the bias [1,1]
// meets nothing: 0. The final add (kernel 7) writes the output.
// CHECK-LABEL: memory plan of @prepared: 4 @init kernels, 4 @forward kernels
// CHECK-NEXT: kernel 0 @init:c1_fold_bn
// CHECK-NEXT: kernel 1 @init:c2_fold_bn
// CHECK-NEXT: kernel 2 @init:relu
// CHECK-NEXT: kernel 3 @init:sigmoid
// CHECK-NEXT: kernel 4 @forward:c1
// CHECK-NEXT: kernel 5 @forward:c2
// CHECK-NEXT: kernel 6 @forward:add
// CHECK-NEXT: kernel 7 @forward:add_2
// CHECK-NEXT: prepared "c1.weight:folded_weight" bytes 48 offset 0
// CHECK-NEXT: prepared "c1.weight:folded_bias" bytes 16 offset 256
// CHECK-NEXT: prepared "c2.weight:folded_weight" "alias" bytes 576 offset 512
// CHECK-NEXT: prepared "prepared_0" bytes 1024 offset 1280
// CHECK-NEXT: activation @init:c2_fold_bn#1 bytes 16 offset 0 live [1, 1]
// CHECK-NEXT: activation @init:relu bytes 1024 offset 0 live [2, 3]
// CHECK-NEXT: activation @forward:c1 bytes 1024 offset 0 live [4, 5]
// CHECK-NEXT: activation @forward:c2 bytes 1024 offset 1024 live [5, 6]
// CHECK-NEXT: activation @forward:add bytes 1024 offset 0 live [6, 7]
// CHECK-NEXT: arena_bytes 2048 activation_bytes_total 4112 prepared_bytes 2304
// CHECK: conflicts 0 misaligned 0

// The manifest of this case: ids for the input, the output, the parameters
// (one per name: "shift.weight" is read by @init and @forward), the prepared
// tensors ("raw" is the parameter c1.weight itself), then the activations in
// program order. Step args: the operands in order, then the results.
// MANIFEST:      "format": "dlab",
// MANIFEST-NEXT: "version": 1,
// MANIFEST-NEXT: "model": "prepared",
// MANIFEST-NEXT: "producer": "dlac 0.1.0",
// MANIFEST-NEXT: "host": {"library": "kernels.so"},
// MANIFEST-NEXT: "inputs": [
// MANIFEST-NEXT:   {"name": "input", "shape": [1, 3, 8, 8], "dtype": "f32", "buffer": 0}
// MANIFEST-NEXT: ],
// MANIFEST-NEXT: "outputs": [
// MANIFEST-NEXT:   {"name": "out", "shape": [1, 4, 8, 8], "dtype": "f32", "buffer": 1}
// MANIFEST-NEXT: ],
// MANIFEST-NEXT: "parameters": [
// MANIFEST-NEXT:   {"name": "c1.weight", "shape": [4, 3, 1, 1], "dtype": "f32", "buffer": 2},
// MANIFEST-NEXT:   {"name": "c1.bias", "shape": [4], "dtype": "f32", "buffer": 3},
// MANIFEST-NEXT:   {"name": "bn1.weight", "shape": [4], "dtype": "f32", "buffer": 4},
// MANIFEST-NEXT:   {"name": "bn1.bias", "shape": [4], "dtype": "f32", "buffer": 5},
// MANIFEST-NEXT:   {"name": "bn1.running_mean", "shape": [4], "dtype": "f32", "buffer": 6},
// MANIFEST-NEXT:   {"name": "bn1.running_var", "shape": [4], "dtype": "f32", "buffer": 7},
// MANIFEST-NEXT:   {"name": "c2.weight", "shape": [4, 4, 3, 3], "dtype": "f32", "buffer": 8},
// MANIFEST-NEXT:   {"name": "c2.bias", "shape": [4], "dtype": "f32", "buffer": 9},
// MANIFEST-NEXT:   {"name": "shift.weight", "shape": [1, 4, 8, 8], "dtype": "f32", "buffer": 10}
// MANIFEST-NEXT: ],
// MANIFEST-NEXT: "buffers": [
// MANIFEST-NEXT:   {"id": 0, "kind": "input", "bytes": 768},
// MANIFEST-NEXT:   {"id": 1, "kind": "output", "bytes": 1024},
// MANIFEST-NEXT:   {"id": 2, "kind": "parameter", "bytes": 48},
// MANIFEST-NEXT:   {"id": 3, "kind": "parameter", "bytes": 16},
// MANIFEST-NEXT:   {"id": 4, "kind": "parameter", "bytes": 16},
// MANIFEST-NEXT:   {"id": 5, "kind": "parameter", "bytes": 16},
// MANIFEST-NEXT:   {"id": 6, "kind": "parameter", "bytes": 16},
// MANIFEST-NEXT:   {"id": 7, "kind": "parameter", "bytes": 16},
// MANIFEST-NEXT:   {"id": 8, "kind": "parameter", "bytes": 576},
// MANIFEST-NEXT:   {"id": 9, "kind": "parameter", "bytes": 16},
// MANIFEST-NEXT:   {"id": 10, "kind": "parameter", "bytes": 1024},
// MANIFEST-NEXT:   {"id": 11, "kind": "prepared", "bytes": 48, "offset": 0},
// MANIFEST-NEXT:   {"id": 12, "kind": "prepared", "bytes": 16, "offset": 256},
// MANIFEST-NEXT:   {"id": 13, "kind": "prepared", "bytes": 576, "offset": 512},
// MANIFEST-NEXT:   {"id": 14, "kind": "prepared", "bytes": 1024, "offset": 1280},
// MANIFEST-NEXT:   {"id": 15, "kind": "activation", "bytes": 16, "offset": 0},
// MANIFEST-NEXT:   {"id": 16, "kind": "activation", "bytes": 1024, "offset": 0},
// MANIFEST-NEXT:   {"id": 17, "kind": "activation", "bytes": 1024, "offset": 0},
// MANIFEST-NEXT:   {"id": 18, "kind": "activation", "bytes": 1024, "offset": 1024},
// MANIFEST-NEXT:   {"id": 19, "kind": "activation", "bytes": 1024, "offset": 0}
// MANIFEST-NEXT: ],
// MANIFEST-NEXT: "memory": {"arena_bytes": 2048, "prepared_bytes": 2304, "activation_bytes_total": 4112},
// MANIFEST-NEXT: "init": [
// MANIFEST-NEXT:   {"kernel": "init_c1_fold_bn", "grid": [1, 1, 1], "block": [1, 1, 1], "shared_bytes": 0, "args": [2, 3, 4, 5, 6, 7, 11, 12], "writes": 2},
// MANIFEST-NEXT:   {"kernel": "init_c2_fold_bn", "grid": [1, 1, 1], "block": [1, 1, 1], "shared_bytes": 0, "args": [8, 9, 4, 5, 6, 7, 13, 15], "writes": 2},
// MANIFEST-NEXT:   {"kernel": "init_relu", "grid": [1, 1, 1], "block": [1, 1, 1], "shared_bytes": 0, "args": [10, 16], "writes": 1},
// MANIFEST-NEXT:   {"kernel": "init_sigmoid", "grid": [1, 1, 1], "block": [1, 1, 1], "shared_bytes": 0, "args": [16, 14], "writes": 1}
// MANIFEST-NEXT: ],
// MANIFEST-NEXT: "forward": [
// The convs' multiply-accumulates: c1 a 1x1 conv 3 -> 4 channels on 8x8
// (4 * 3 * 64 = 768), c2 a 3x3 conv 4 -> 4 with padding 1 (4 * 4 * 9 * 64).
// MANIFEST-NEXT:   {"kernel": "c1", "grid": [1, 1, 1], "block": [1, 1, 1], "shared_bytes": 0, "args": [0, 11, 12, 17], "writes": 1, "macs": 768},
// MANIFEST-NEXT:   {"kernel": "c2", "grid": [1, 1, 1], "block": [1, 1, 1], "shared_bytes": 0, "args": [17, 13, 18], "writes": 1, "macs": 9216},
// MANIFEST-NEXT:   {"kernel": "add", "grid": [1, 1, 1], "block": [1, 1, 1], "shared_bytes": 0, "args": [18, 10, 19], "writes": 1},
// MANIFEST-NEXT:   {"kernel": "add_2", "grid": [1, 1, 1], "block": [1, 1, 1], "shared_bytes": 0, "args": [19, 14, 1], "writes": 1}
// MANIFEST-NEXT: ]
// MANIFEST-NEXT: }
// (fold_batch_norm and fused_conv in generic form, independent of their
// custom syntax)
module @prepared {
func.func @init() -> (tensor<4x3x1x1xf32> {dla.name = "c1.weight:folded_weight"}, tensor<4xf32> {dla.name = "c1.weight:folded_bias"}, tensor<4x4x3x3xf32> {dla.name = "c2.weight:folded_weight"}, tensor<4x4x3x3xf32> {dla.name = "alias"}, tensor<1x4x8x8xf32> {dla.name = "prepared_0"}, tensor<4x3x1x1xf32> {dla.name = "raw"}) {
  %w1 = dla.param "c1.weight" : tensor<4x3x1x1xf32>
  %b1 = dla.param "c1.bias" : tensor<4xf32>
  %g = dla.param "bn1.weight" : tensor<4xf32>
  %beta = dla.param "bn1.bias" : tensor<4xf32>
  %m = dla.param "bn1.running_mean" : tensor<4xf32>
  %v = dla.param "bn1.running_var" : tensor<4xf32>
  %nw1, %nb1 = "dla.fold_batch_norm"(%w1, %b1, %g, %beta, %m, %v) <{epsilon = 1.0e-05 : f64}> : (tensor<4x3x1x1xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> (tensor<4x3x1x1xf32>, tensor<4xf32>)
  %w2 = dla.param "c2.weight" : tensor<4x4x3x3xf32>
  %b2 = dla.param "c2.bias" : tensor<4xf32>
  %nw2, %nb2 = "dla.fold_batch_norm"(%w2, %b2, %g, %beta, %m, %v) <{epsilon = 1.0e-05 : f64}> : (tensor<4x4x3x3xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> (tensor<4x4x3x3xf32>, tensor<4xf32>)
  %p = dla.param "shift.weight" : tensor<1x4x8x8xf32>
  %r = dla.relu %p : tensor<1x4x8x8xf32>
  %s = dla.sigmoid %r : tensor<1x4x8x8xf32>
  return %nw1, %nb1, %nw2, %nw2, %s, %w1 : tensor<4x3x1x1xf32>, tensor<4xf32>, tensor<4x4x3x3xf32>, tensor<4x4x3x3xf32>, tensor<1x4x8x8xf32>, tensor<4x3x1x1xf32>
}
func.func @forward(%x: tensor<1x3x8x8xf32> {dla.name = "input"}) -> (tensor<1x4x8x8xf32> {dla.name = "out"}) {
  %w = dla.prepared "c1.weight:folded_weight" : tensor<4x3x1x1xf32>
  %b = dla.prepared "c1.weight:folded_bias" : tensor<4xf32>
  %y = "dla.fused_conv"(%x, %w, %b) <{dilation = array<i64: 1, 1>, groups = 1 : i64, operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 0, 0, 0>, padding = array<i64: 0, 0>, pool = array<i64: 1>, relu, stride = array<i64: 1, 1>}> : (tensor<1x3x8x8xf32>, tensor<4x3x1x1xf32>, tensor<4xf32>) -> tensor<1x4x8x8xf32>
  %w2 = dla.prepared "c2.weight:folded_weight" : tensor<4x4x3x3xf32>
  %z = "dla.fused_conv"(%y, %w2) <{dilation = array<i64: 1, 1>, groups = 1 : i64, operandSegmentSizes = array<i32: 1, 1, 0, 0, 0, 0, 0, 0>, padding = array<i64: 1, 1>, pool = array<i64: 1>, stride = array<i64: 1, 1>}> : (tensor<1x4x8x8xf32>, tensor<4x4x3x3xf32>) -> tensor<1x4x8x8xf32>
  %p = dla.param "shift.weight" : tensor<1x4x8x8xf32>
  %t = dla.add %z, %p : tensor<1x4x8x8xf32>
  %s = dla.prepared "prepared_0" : tensor<1x4x8x8xf32>
  %o = dla.add %t, %s : tensor<1x4x8x8xf32>
  return %o : tensor<1x4x8x8xf32>
}
}

// DLASeg-34: the first two activations (base_layer and level0, 1x16x512x512,
// 16 MiB each) are live together while level0 runs, so no plan needs less
// than 32 MiB; this one reaches that bound, a fraction of the sum of all
// activation sizes.
// DLA34: memory plan of @ctdet_dla34:
// DLA34: activation @forward:base_base_layer_0 bytes 16777216 offset 0 live {{\[[0-9]+}}, [[G:[0-9]+]]{{\]}}
// DLA34-NEXT: activation @forward:base_level0_0 bytes 16777216 offset 16777216 live {{\[}}[[G]],
// DLA34: arena_bytes 33554432 activation_bytes_total {{[0-9]+}} prepared_bytes {{[0-9]+}}
// DLA34-NEXT: arena/total 0.{{[0-9]+}}
// DLA34-NEXT: conflicts 0 misaligned 0
