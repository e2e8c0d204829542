irdl.dialect @tcconv {
  irdl.operation @conv2d {
    %in = irdl.base "!builtin.memref"
    irdl.operands(input: %in)
  }
}
