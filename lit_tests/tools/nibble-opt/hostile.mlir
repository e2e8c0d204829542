// Hostile inputs: each is one located error and exit code 1; no panic, abort or segfault.
// RUN: not nibble-opt %S/Inputs/hostile/index-array.mlir 2>&1 | FileCheck %s --check-prefix=INDEX
// INDEX: index-array.mlir:1:54: error: array<index ...> is not a dense array type
// RUN: %python -c "print('func.func @f() attributes {a = ' + '['*10000 + ']'*10000 + '} { return }')" > %t.deep.mlir
// RUN: not nibble-opt %t.deep.mlir 2>&1 | FileCheck %s --check-prefix=DEEP
// DEEP: deep.mlir:1:{{[0-9]+}}: error: brackets nested deeper than 256 levels
// Aliases that each wrap the previous one nest a type as deep as the chain is long (10^6 overflowed
// the stack); `>=` of affine constraints does not close a bracket.
// RUN: %python -c "print('!t0 = i32'); [print('!t%%d = tuple<!t%%d>' %% (k, k - 1)) for k in range(1, 100000)]; print('func.func @f(%%a: !t99999) { return }')" > %t.alias.mlir
// RUN: not nibble-opt %t.alias.mlir 2>&1 | FileCheck %s --check-prefix=ALIAS
// ALIAS: alias.mlir:258:15: error: types and attributes (through aliases) nested deeper than 256 levels
// RUN: %python -c "print('#s = affine_set<(d0) : (' + '(d0 >= 0, ' * 100000 + 'd0' + ')' * 100000 + ')>')" > %t.ge.mlir
// RUN: not nibble-opt %t.ge.mlir 2>&1 | FileCheck %s --check-prefix=GE
// GE: ge.mlir:1:2565: error: brackets nested deeper than 256 levels
// Affine expressions recurse in MLIR's parser and printer without brackets: chains of unary
// minus or `mod` (10^6 overflowed the stack) are bounded.
// RUN: %python -c "print('func.func @f() attributes {a = affine_map<(d0)[s0] -> (d0' + ' mod s0' * 1000000 + ')>} { return }')" > %t.mod.mlir
// RUN: not nibble-opt %t.mod.mlir 2>&1 | FileCheck %s --check-prefix=AFFINE
// AFFINE: mod.mlir:1:1459: error: an expression of more than 200 operators in one bracket level
// Aliases each standing for two of the one before: 40 of them print a 2^40-part type.
// RUN: %python -c "print('!t0 = i32'); [print('!t%%d = tuple<!t%%d, !t%%d>' %% (k, k - 1, k - 1)) for k in range(1, 41)]; print('func.func @f(%%a: !t40) { return }')" > %t.laughs.mlir
// RUN: not nibble-opt %t.laughs.mlir 2>&1 | FileCheck %s --check-prefix=LAUGHS
// LAUGHS: laughs.mlir:21:{{[0-9]+}}: error: an alias that stands for more than 1048576 types and attributes
// A text ending inside a string: MLIR's lexer reads the byte past the text, which is a NUL.
// RUN: printf '"x' > %t.unterminated.mlir
// RUN: not nibble-opt %t.unterminated.mlir 2>&1 | FileCheck %s --check-prefix=UNTERM
// UNTERM: unterminated.mlir:1:3: error: expected '"' in string literal
// RUN: not nibble-opt %S/Inputs/hostile/empty-weight-name.mlir --pass-pipeline='builtin.module(qnn-verify)' 2>&1 | FileCheck %s --check-prefix=EMPTY
// EMPTY: empty-weight-name.mlir:2:8: error: 'qnn.weight' weight name must not be empty
// RUN: not nibble-opt %S/Inputs/hostile/nonutf8-name.mlir --pass-pipeline='builtin.module(qnn-to-ptx{target=sm_90})' 2>&1 | FileCheck %s --check-prefix=UTF8
// UTF8: nonutf8-name.mlir:2:8: error: 'qnn.weight' attribute 'name': the string is not valid UTF-8
// RUN: not nibble-opt %S/Inputs/hostile/weight-as-activation.mlir --pass-pipeline='builtin.module(qnn-verify)' 2>&1 | FileCheck %s --check-prefix=WACT
// RUN: not nibble-opt %S/Inputs/hostile/weight-as-activation.mlir --pass-pipeline='builtin.module(convert-qnn-to-tcconv{target=sm_80})' 2>&1 | FileCheck %s --check-prefix=WACT
// WACT: weight-as-activation.mlir:4:8: error: 'qnn.conv2d' operand 0 is a qnn.weight, which only conv and dense weights and biases may be
// WACT-NOT: error
// RUN: not nibble-opt %S/Inputs/hostile/padding-2e62.mlir --pass-pipeline='builtin.module(qnn-verify)' 2>&1 | FileCheck %s --check-prefix=PAD
// PAD: padding-2e62.mlir:3:8: error: 'qnn.conv2d' padding must be in [0, 1073741824], found [4611686018427387904, 1, 1, 1]
// RUN: not nibble-opt %S/Inputs/hostile/stride-2e31.mlir --pass-pipeline='builtin.module(qnn-to-ptx{target=sm_90})' --emit=artifact -o %t.art 2>&1 | FileCheck %s --check-prefix=STRIDE
// STRIDE: stride-2e31.mlir:3:8: error: 'qnn.conv2d' strides must be in [1, 1073741824]
// RUN: not nibble-opt %S/Inputs/hostile/zero-point-min.mlir --pass-pipeline='builtin.module(qnn-verify)' 2>&1 | FileCheck %s --check-prefix=ZP
// ZP: zero-point-min.mlir:2:8: error: 'qnn.requantize' zero_point -9223372036854775808 does not fit i32
// RUN: not nibble-opt %S/Inputs/hostile/huge-shape.mlir --pass-pipeline='builtin.module(qnn-to-ptx{target=sm_90})' 2>&1 | FileCheck %s --check-prefix=HUGE
// RUN: not nibble-run --cpu %S/Inputs/hostile/huge-shape.mlir 2>&1 | FileCheck %s --check-prefix=HUGE
// HUGE: huge-shape.mlir:2:8: error: 'qnn.relu' shape [4611686018427387904, 8, 4, 4] has more than 4294967296 elements
// RUN: not nibble-run --cpu %S/Inputs/hostile/no-results.mlir 2>&1 | FileCheck %s --check-prefix=NORES
// NORES: nibble-run: error: f: the model returns no result

// A gpu.module of its own next to the network would be left out of the artifact's PTX.
// RUN: rm -rf %t.gpu2 && python3 %S/Inputs/make_weights.py %t.w2.safetensors w:I8:8x8x3x3:-8:7
// RUN: not nibble-opt %S/Inputs/hostile/second-gpu-module.mlir --pass-pipeline='builtin.module(qnn-to-ptx{target=sm_80})' --emit=artifact --weights %t.w2.safetensors -o %t.gpu2 2>&1 | FileCheck %s --check-prefix=GPU2
// GPU2: error: the module has 2 gpu.modules (@other, @kernels); the PTX is made from one, @kernels
// RUN: test ! -e %t.gpu2

// Outputs: a full device and a closed pipe are one error line; -o on a device writes through it.
// RUN: not nibble-opt %S/Inputs/block.mlir > /dev/full 2> %t.full; FileCheck %s --check-prefix=FULL < %t.full
// FULL: nibble-opt: error: cannot write to standard output: No space left on device
// RUN: not nibble-opt --list-passes > /dev/full 2> %t.full2; FileCheck %s --check-prefix=FULL < %t.full2
// RUN: nibble-opt %S/Inputs/block.mlir -o /dev/null
// RUN: test -c /dev/null
// RUN: rm -f %t.link %t.real && echo old > %t.real && ln -s %t.real %t.link
// RUN: nibble-opt %S/Inputs/block.mlir -o %t.link
// RUN: test -L %t.link && FileCheck %s --check-prefix=LINK < %t.real
// LINK: func.func @block
// RUN: not nibble-gen --no-such-flag 2>&1 | FileCheck %s --check-prefix=GEN
// GEN: error: unexpected argument '--no-such-flag'

// expected-* offsets that leave the file (found by fuzzing: they wrapped around).
// RUN: not nibble-opt %S/Inputs/hostile/expected_at_minus_underflow.mlir --verify-diagnostics 2>&1 | FileCheck %s --check-prefix=UNDER
// UNDER: expected_at_minus_underflow.mlir:line 2: bad offset @-3
// RUN: not nibble-opt %S/Inputs/hostile/expected_at_plus_overflow.mlir --verify-diagnostics 2>&1 | FileCheck %s --check-prefix=OVER
// OVER: expected_at_plus_overflow.mlir:line 2: bad offset @+18446744073709551615

// nibble-gen refuses shapes past the element limit before writing anything.
// RUN: rm -rf %t.huge && not nibble-gen conv --shape 1000000,512,100000,512,3,1,1 -o %t.huge 2>&1 | FileCheck %s --check-prefix=GENHUGE
// GENHUGE: nibble-gen: error: conv configuration {{.*}} batch: 1000000, {{.*}}: sizes, channels and the shortcut are at most 65536
// RUN: test ! -e %t.huge
// RUN: not nibble-gen example --arch resnet18 --percentile nan -o %t.pct 2>&1 | FileCheck %s --check-prefix=PCT
// PCT: error: invalid value 'nan' for '--percentile <PERCENTILE>': nan is not in (0, 100]
// RUN: test ! -e %t.pct
// A function of more qnn ops than the e-graph takes (it grows faster than the function): one
// error instead of minutes or an exhausted memory.
// RUN: %python -c "print('func.func @chain(%%x: tensor<1x8xi8>) -> tensor<1x8xi8> {'); [print('  %%r' + str(i) + ' = \"qnn.relu\"(' + ('%%x' if i == 0 else '%%r' + str(i - 1)) + ') {layout = \"NC\"} : (tensor<1x8xi8>) -> tensor<1x8xi8>') for i in range(20001)]; print('  return %%r20000 : tensor<1x8xi8>'); print('}')" > %t.chain.mlir
// RUN: not nibble-opt %t.chain.mlir --pass-pipeline='builtin.module(qnn-egraph-optimize{target=sm_90})' 2>&1 | FileCheck %s --check-prefix=CHAIN
// CHAIN: error: qnn-egraph-optimize: @chain has 20001 qnn ops; the e-graph optimizes functions of at most 20000
// A chain of 8,000 relus of an unsigned tensor: `relu-of-non-negative` collapses it into one
// class, where a rule can match quadratically often; the e-graph searches at most
// egraph::MATCH_LIMIT matches of a rule an iteration (it aborted on a 6 GB allocation before).
// RUN: %python -c "t = ' {layout = \"NCHW\"} : (tensor<1x16x8x8xui8>) -> tensor<1x16x8x8xui8>'; print('func.func @f(%%x: tensor<1x16x8x8xui8>) -> tensor<1x16x8x8xui8> {'); print('  %%r0 = \"qnn.relu\"(%%x)' + t); [print('  %%r' + str(k) + ' = \"qnn.relu\"(%%r' + str(k - 1) + ')' + t) for k in range(1, 8000)]; print('  return %%r7999 : tensor<1x16x8x8xui8>'); print('}')" > %t.relus.mlir
// RUN: nibble-opt %t.relus.mlir --pass-pipeline='builtin.module(qnn-egraph-optimize{target=sm_90})' | FileCheck %s --check-prefix=RELUS
// RELUS-LABEL: func.func @f
// RELUS: return
// A chain of 16,000 1x1 max pools (three layouts each, 48,000 e-classes): extraction's greedy
// pass keeps a set of classes per class only up to 16,384 classes, and its local search visits a
// bounded number of classes (minutes and 635 MB before; about 3 s now).
// RUN: %python -c "t = ' {kernel = array<i64: 1, 1>, strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, layout = \"NCHW\"} : (tensor<1x16x8x8xi8>) -> tensor<1x16x8x8xi8>'; print('func.func @f(%%x: tensor<1x16x8x8xi8>) -> tensor<1x16x8x8xi8> {'); print('  %%r0 = \"qnn.max_pool2d\"(%%x)' + t); [print('  %%r' + str(k) + ' = \"qnn.max_pool2d\"(%%r' + str(k - 1) + ')' + t) for k in range(1, 16000)]; print('  return %%r15999 : tensor<1x16x8x8xi8>'); print('}')" > %t.pools.mlir
// RUN: nibble-opt %t.pools.mlir --pass-pipeline='builtin.module(qnn-egraph-optimize{target=sm_90})' | FileCheck %s --check-prefix=POOLS
// POOLS-LABEL: func.func @f
// POOLS: %15999 = "qnn.max_pool2d"(%15998)
// POOLS-NEXT: return %15999
// 100,000 splits: each chunk parses alone, its diagnostics moved to the file's lines (each
// chunk padded with the lines before it took minutes); an error in the last chunk keeps its line.
// RUN: %python -c "[print('func.func @f%%d() { return }\n// -----' %% i) for i in range(100000)]; print('func.func @g() {\n  %%0 = arith.addi\n}')" > %t.splits.mlir
// RUN: not nibble-opt %t.splits.mlir --split-input-file 2>&1 | FileCheck %s --check-prefix=SPLITS
// SPLITS: splits.mlir:200002:18: error: expected SSA operand
// 3,000 levels of x = add(x, relu(x)): more e-classes than the greedy pass keeps sets for, so it
// sums tree costs, which double with every level; they saturate instead of overflowing to
// infinity (which left the results without a choice: "no acyclic program").
// RUN: %python %S/Inputs/add_relu_levels.py 3000 > %t.levels.mlir
// RUN: nibble-opt %t.levels.mlir --pass-pipeline='builtin.module(qnn-egraph-optimize{target=sm_90})' | FileCheck %s --check-prefix=LEVELS
// LEVELS-LABEL: func.func @d
// LEVELS: return
