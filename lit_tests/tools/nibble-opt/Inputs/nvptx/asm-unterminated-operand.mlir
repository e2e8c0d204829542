module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @evil(%a: memref<4xi32>, %v: i32) kernel {
      %i = arith.constant 0 : index
      %c = llvm.inline_asm has_side_effects "mov.b32 $0, ${1", "=r,r" %v : (i32) -> i32
      memref.store %c, %a[%i] : memref<4xi32>
      gpu.return
    }
  }
}
