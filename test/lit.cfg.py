# lit configuration of pattern-mlir: FileCheck tests of the dialect and passes.
import os
import sysconfig

import lit.formats

config.name = "pattern-mlir"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.test_source_root, "Output")
config.excludes = ["python", "Output", "lit.cfg.py"]

# pattern-opt is the venv's console script; FileCheck and not come from the
# LLVM tools wheel in the same site-packages.
site = sysconfig.get_paths()["purelib"]
venv_bin = os.path.dirname(os.path.abspath(os.sys.executable))
paths = [venv_bin, os.path.join(site, "llvm", "bin"), os.path.join(site, "mlir", "bin")]
config.environment["PATH"] = os.pathsep.join(
    paths + [config.environment.get("PATH", os.environ["PATH"])]
)
# An AVX-512 machine can run the tests as an AVX2 one (target/registry.py).
if "PATTERN_MLIR_HOST_LEVEL" in os.environ:
    config.environment["PATTERN_MLIR_HOST_LEVEL"] = os.environ["PATTERN_MLIR_HOST_LEVEL"]
