module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @evil(%g: !llvm.ptr<1>, %v: i32, %f: f32) kernel {
      %r = "llvm.intr.powi"(%f, %v) : (f32, i32) -> f32
      llvm.store %r, %g : f32, !llvm.ptr<1>
      gpu.return
    }
  }
}
