func.func @f() {
  // expected-error @+18446744073709551615 {{x}}
  return
}
