module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @evil(%a: memref<4xi32>) kernel {
      %x = arith.constant 1 : i32
      %c = llvm.inline_asm has_side_effects "add.s32 $0, $1, $2;", "=r,r,r,r,r" %x : (i32) -> i32
      %i = arith.constant 0 : index
      memref.store %c, %a[%i] : memref<4xi32>
      gpu.return
    }
  }
}
