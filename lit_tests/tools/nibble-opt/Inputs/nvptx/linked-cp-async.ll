target triple = "nvptx64-nvidia-cuda"
declare void @llvm.nvvm.cp.async.commit.group()
define void @evil() {
  call void @llvm.nvvm.cp.async.commit.group()
  ret void
}
@llvm.used = appending global [1 x ptr] [ptr @evil], section "llvm.metadata"
