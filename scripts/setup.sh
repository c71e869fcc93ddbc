#!/usr/bin/env bash
# Installs the Debian packages invprop needs, only those missing. Safe to run repeatedly.
set -euo pipefail
# OpenMPI: `mpirun -np N invprop train` (docs/distributed.md) and its tests; invprop itself opens
# libmpi only when started by mpirun.
packages=(libdnnl-dev libpng-dev libjpeg62-turbo-dev libturbojpeg0-dev zlib1g-dev dataset-fashion-mnist libopenmpi-dev openmpi-bin)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
command -v swift >/dev/null || { echo "setup: swift is not on PATH (Swift 6.x toolchain needed)" >&2; exit 1; }
