#!/usr/bin/env bash
# Installs the Debian packages pattern-mlir needs, only those that are missing:
# the aarch64 cross toolchain and qemu (arm64-neon target), spirv-tools and Mesa
# lavapipe (vulkan-adreno target on a CPU), the Fashion-MNIST data set, and
# clang-format (the C and C++ style check of test/python/test_repo_hygiene.py).
set -euo pipefail
packages=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user spirv-tools
          mesa-vulkan-drivers libvulkan1 vulkan-tools dataset-fashion-mnist
          clang-format)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing Debian packages: ${missing[*]}"
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
