module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @evil(%a: memref<4xi32>) kernel {
      %c = llvm.inline_asm has_side_effects "mov.b32 $0, $7;", "=r" : () -> i32
      %i = arith.constant 0 : index
      memref.store %c, %a[%i] : memref<4xi32>
      gpu.return
    }
  }
}
