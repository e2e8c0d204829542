module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @evil(%a: memref<4xi32>, %p: !llvm.ptr<3>, %g: !llvm.ptr<1>) kernel {
      %x = arith.constant 1 : i32
      %z = arith.constant 0 : i32
      %i = arith.constant 0 : index
      %r = nvvm.mma.sync A[%x, %x, %x, %x] B[%x, %x] C[%z, %z, %z, %z] {intOverflowBehavior = #nvvm.mma_int_overflow<wrapped>, layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, multiplicandAPtxType = #nvvm.mma_type<u4>, multiplicandBPtxType = #nvvm.mma_type<s4>, shape = #nvvm.shape<m = 16, n = 8, k = 64>} : (i32, i32, i32) -> !llvm.struct<(i32, i32, i32, i32)>
      %e = llvm.extractvalue %r[0] : !llvm.struct<(i32, i32, i32, i32)>
      memref.store %e, %a[%i] : memref<4xi32>
      gpu.return
    }
  }
}
