func.func @f() {
  // expected-error @-3 {{x}}
  return
}
