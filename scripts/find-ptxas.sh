#!/usr/bin/env bash
# Prints the path of ptxas: $PTXAS, a CUDA install, or the PyPI nvidia-cuda-nvcc package.
if [ -n "${PTXAS:-}" ] && [ -x "$PTXAS" ]; then echo "$PTXAS"; exit 0; fi
command -v ptxas 2>/dev/null && exit 0
for d in $(python3 -c 'import site,sys; print(" ".join(site.getsitepackages()+[site.getusersitepackages()]))' 2>/dev/null); do
  for p in "$d"/nvidia/cu13/bin/ptxas "$d"/nvidia/cuda_nvcc/bin/ptxas; do
    [ -x "$p" ] && { echo "$p"; exit 0; }
  done
done
exit 1
