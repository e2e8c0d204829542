module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @evil(%a: memref<4xi32>) kernel {
      %x = arith.constant 1 : i32
      %z = arith.constant 0 : i32
      %r = nvvm.mma.sync A[%x, %x, %x, %x] B[%x, %x] C[%z, %z, %z, %z] {intOverflowBehavior = #nvvm.mma_int_overflow<wrapped>, layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, multiplicandAPtxType = #nvvm.mma_type<u4>, multiplicandBPtxType = #nvvm.mma_type<s8>, shape = #nvvm.shape<m = 16, n = 8, k = 64>} : (i32, i32, i32) -> !llvm.struct<(i32, i32, i32, i32)>
      gpu.return
    }
  }
}
