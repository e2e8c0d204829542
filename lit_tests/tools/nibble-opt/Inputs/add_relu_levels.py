"""Print a qnn function of N levels of x = add(x, relu(x)) (argv[1], default 3000)."""
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
t = "tensor<1x8x4x4xi32>"
attrs = ('{clamp = array<i64: -2147483648, 2147483647>, layout = "NCHW", '
         'lhs_multiplier = array<i32: 1073741824>, lhs_shift = array<i32: 31>, '
         'rhs_multiplier = array<i32: 1073741824>, rhs_shift = array<i32: 31>, '
         'rounding = "half_to_even"}')
print(f"func.func @d(%x: {t}) -> {t} {{")
prev = "%x"
for k in range(n):
    print(f'  %r{k} = "qnn.relu"({prev}) {{layout = "NCHW"}} : ({t}) -> {t}')
    print(f'  %a{k} = "qnn.add"({prev}, %r{k}) {attrs} : ({t}, {t}) -> {t}')
    prev = f"%a{k}"
print(f"  return {prev} : {t}")
print("}")
