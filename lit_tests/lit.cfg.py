# LLVM lit configuration for nibble. Run with scripts/test.sh (or `lit lit_tests`).
import os
import lit.formats

config.name = "nibble"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir"]
config.excludes = ["Inputs", "lit.cfg.py"]
config.test_source_root = os.path.dirname(__file__)
root = os.path.dirname(config.test_source_root)
config.test_exec_root = os.path.join(root, "target", "lit")

llvm = os.environ.get("NIBBLE_LLVM_DIR", "/usr/lib/llvm-22/bin")
bins = os.environ.get("NIBBLE_BIN_DIR", os.path.join(root, "target", "release"))
config.environment["PATH"] = os.pathsep.join([bins, llvm, os.environ.get("PATH", "")])

config.substitutions.append(("%qnn_irdl", os.path.join(root, "dialects", "qnn", "qnn.irdl.mlir")))
config.substitutions.append(("%tcconv_irdl", os.path.join(root, "dialects", "tcconv", "tcconv.irdl.mlir")))
config.substitutions.append(("%python", "python3"))
config.substitutions.append(("%hawq_fixtures", os.path.join(root, "models", "fixtures")))

# NVIDIA's ptxas (PyPI nvidia-cuda-nvcc, installed by scripts/setup.sh): tests that assemble PTX
# need it (REQUIRES: ptxas).
import subprocess
try:
    ptxas = subprocess.run([os.path.join(root, "scripts", "find-ptxas.sh")], capture_output=True, text=True).stdout.strip()
except OSError:
    ptxas = ""
if ptxas:
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", ptxas))
