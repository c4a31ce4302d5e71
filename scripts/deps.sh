#!/usr/bin/env bash
# Installs the Debian packages the build and tests need, only when missing.
# Runs as root (CI, containers) or via sudo when available; otherwise it says
# what is missing and leaves the decision to the user.
set -euo pipefail
pkgs=(cmake gcc make clang gcc-arm-none-eabi libnewlib-arm-none-eabi dfu-util
      libusb-1.0-0-dev pkg-config valgrind usbip usbutils binutils python3 python3-intelhex
      cppcheck clang-tidy libclang-rt-14-dev gnuplot-nox gcc-riscv64-unknown-elf)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; else
  echo "deps: missing packages (${missing[*]}); run as root: apt-get install ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
