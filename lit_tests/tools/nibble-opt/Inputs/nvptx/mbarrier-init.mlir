module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @evil(%a: memref<4xi32>, %p: !llvm.ptr<3>, %g: !llvm.ptr<1>) kernel {
      %x = arith.constant 1 : i32
      %z = arith.constant 0 : i32
      %i64 = arith.constant 0 : i64
      %f = arith.constant 1.0 : f32
      nvvm.mbarrier.init %p, %x : !llvm.ptr<3>, i32
      gpu.return
    }
  }
}
