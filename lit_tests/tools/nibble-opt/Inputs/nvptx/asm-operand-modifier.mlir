module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @evil(%a: memref<4xi32>, %p: !llvm.ptr<3>, %g: !llvm.ptr<1>) kernel {
      %x = arith.constant 1 : i32
      %z = arith.constant 0 : i32
      %i64 = arith.constant 0 : i64
      %c = llvm.inline_asm has_side_effects "mov.b32 ${0:q}, $1;", "=r,r" %x : (i32) -> i32
      gpu.return
    }
  }
}
