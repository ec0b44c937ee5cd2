#!/usr/bin/env bash
# Build the C++ runtime and run its GoogleTest suite (deps from package registries only).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_cpp_deps.sh
cmake -S . -B build/cpp -DCMAKE_BUILD_TYPE=Release
cmake --build build/cpp -j2
ctest --test-dir build/cpp --output-on-failure
