#!/usr/bin/env bash
# Dependencies of the C++ runtime (cpp/, root CMakeLists.txt), from package registries only.
#
#   bash scripts/setup_cpp_deps.sh            # then: cmake -S . -B build/cpp && cmake --build build/cpp
#
# 1. Debian/Ubuntu packages: cmake, g++, make, pkg-config, libopencv-dev, libgtest-dev (apt-get).
# 2. ONNX Runtime's shared library: taken from the onnxruntime Python wheel pinned in
#    pyproject.toml (onnxruntime/capi/libonnxruntime.so.*; on Jetson the onnxruntime-gpu wheel
#    from the Jetson Zoo, whose capi/ also holds the CUDA/TensorRT provider libraries).
# 3. ONNX Runtime's C/C++ headers: Debian 12 has no libonnxruntime-dev, so the .deb of Debian 13
#    (trixie) is fetched with `apt-get download` through a throwaway apt configuration (its own
#    sources list, lists and cache under a temporary folder; the system's sources and package
#    state are not touched) and only extracted, never installed. The C API is versioned
#    (ORT_API_VERSION): headers older than the library work; newer ones do not, which is checked.
#
# Result: a prefix $ASL_ORT_PREFIX (default build/deps/onnxruntime) with include/ and lib/, which
# the root CMakeLists.txt uses by default (or pass -DASL_ONNXRUNTIME_ROOT=PREFIX).
# Idempotent: a second run that finds everything in place returns in well under a second.
#
# Environment:
#   PYTHON            interpreter whose onnxruntime wheel provides the library (default: python3)
#   ASL_ORT_PREFIX    output prefix (default: <repo>/build/deps/onnxruntime)
#   ASL_ORT_HEADERS   an existing include dir holding onnxruntime_cxx_api.h (skips the .deb)
#   ASL_SKIP_APT=1    do not check/install the apt packages (e.g. no root and already present)
#   ASL_DEB_SUITE     Debian suite to take libonnxruntime-dev from (default: trixie)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PREFIX=${ASL_ORT_PREFIX:-$ROOT/build/deps/onnxruntime}
PY=${PYTHON:-python3}
SUITE=${ASL_DEB_SUITE:-trixie}
APT_PACKAGES=(cmake g++ make pkg-config libopencv-dev libgtest-dev)

say() { printf 'setup_cpp_deps: %s\n' "$*"; }
die() { printf 'setup_cpp_deps: error: %s\n' "$*" >&2; exit 1; }

SUDO=""
if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null && SUDO="sudo"
fi

# --- 1. apt packages -------------------------------------------------------------------------
if [ "${ASL_SKIP_APT:-0}" != 1 ]; then
    missing=()
    for p in "${APT_PACKAGES[@]}"; do
        st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
        [ "$st" = installed ] || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        command -v apt-get >/dev/null || die "no apt-get here; install ${missing[*]} by other means and rerun with ASL_SKIP_APT=1"
        say "installing ${missing[*]} (apt-get)"
        $SUDO apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
fi

# --- 2. the library from the onnxruntime wheel -------------------------------------------------
find_ort_pkg() {
    "$PY" - <<'EOF' 2>/dev/null || true
import importlib.util, os
spec = importlib.util.find_spec("onnxruntime")
print(os.path.dirname(spec.origin) if spec and spec.origin else "")
EOF
}
command -v "$PY" >/dev/null || die "no Python interpreter '$PY' (set PYTHON=...)"
ORT_PKG=$(find_ort_pkg)
if [ -z "$ORT_PKG" ]; then
    pin=$(grep -oE '"onnxruntime==[0-9.]+"' "$ROOT/pyproject.toml" | head -1 | tr -d '"')
    pin=${pin:-onnxruntime}
    say "no onnxruntime in $PY; installing $pin from PyPI"
    "$PY" -m pip install -q "$pin"
    ORT_PKG=$(find_ort_pkg)
    [ -n "$ORT_PKG" ] || die "onnxruntime still not importable by $PY"
fi
LIB_SRC=$(ls "$ORT_PKG"/capi/libonnxruntime.so.[0-9]* 2>/dev/null | sort -V | tail -1 || true)
[ -n "$LIB_SRC" ] || die "no libonnxruntime.so.* in $ORT_PKG/capi (an onnxruntime wheel without its shared library?)"
LIB_NAME=$(basename "$LIB_SRC")
LIB_VERSION=${LIB_NAME#libonnxruntime.so.}           # e.g. 1.32.0
LIB_MINOR=$(echo "$LIB_VERSION" | cut -d. -f2)

# --- quick exit when the prefix is already complete and up to date ---------------------------
STAMP="$PREFIX/.asl-setup-stamp"
want_stamp="lib=$LIB_SRC size=$(stat -c %s "$LIB_SRC") mtime=$(stat -c %Y "$LIB_SRC") headers=${ASL_ORT_HEADERS:-deb:$SUITE}"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want_stamp" ] \
   && [ -f "$PREFIX/include/onnxruntime_cxx_api.h" ] && [ -e "$PREFIX/lib/libonnxruntime.so" ]; then
    say "up to date: $PREFIX (onnxruntime $LIB_VERSION)"
    exit 0
fi
mkdir -p "$PREFIX/include" "$PREFIX/lib"

# --- 3. headers ------------------------------------------------------------------------------
if [ -n "${ASL_ORT_HEADERS:-}" ]; then
    [ -f "$ASL_ORT_HEADERS/onnxruntime_cxx_api.h" ] || die "ASL_ORT_HEADERS=$ASL_ORT_HEADERS has no onnxruntime_cxx_api.h"
    say "headers from $ASL_ORT_HEADERS"
    rm -rf "$PREFIX/include"; mkdir -p "$PREFIX/include"
    cp -a "$ASL_ORT_HEADERS"/. "$PREFIX/include/"
elif [ ! -f "$PREFIX/include/onnxruntime_cxx_api.h" ]; then
    command -v apt-get >/dev/null || die "no apt-get: set ASL_ORT_HEADERS to an include dir with onnxruntime_cxx_api.h"
    KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
    [ -f "$KEYRING" ] || die "$KEYRING missing (Ubuntu: apt-get install debian-archive-keyring), or set ASL_ORT_HEADERS"
    ARCH=$(dpkg --print-architecture)
    TMP=$(mktemp -d)
    trap 'rm -rf "$TMP"' EXIT
    mkdir -p "$TMP/etc/sources.list.d" "$TMP/etc/preferences.d" "$TMP/lists/partial" \
             "$TMP/cache/archives/partial" "$TMP/deb"
    echo "deb [signed-by=$KEYRING] http://deb.debian.org/debian $SUITE main" > "$TMP/etc/sources.list"
    # every apt path that would touch the system's configuration or state points into $TMP
    APT_OPTS=(-o "Dir::Etc::sourcelist=$TMP/etc/sources.list"
              -o "Dir::Etc::sourceparts=$TMP/etc/sources.list.d"
              -o "Dir::Etc::preferencesparts=$TMP/etc/preferences.d"
              -o "Dir::State::lists=$TMP/lists" -o "Dir::State::status=/dev/null"
              -o "Dir::Cache=$TMP/cache" -o "Dir::Cache::archives=$TMP/cache/archives"
              -o "APT::Architecture=$ARCH" -o "Acquire::Languages=none"
              -o "APT::Sandbox::User=root" -o "Debug::NoLocking=1")
    say "fetching libonnxruntime-dev from Debian $SUITE ($ARCH) for its headers (download only)"
    apt-get "${APT_OPTS[@]}" update -qq \
        || die "apt-get update of the temporary $SUITE source failed"
    (cd "$TMP/deb" && apt-get "${APT_OPTS[@]}" download -qq libonnxruntime-dev) \
        || die "apt-get download libonnxruntime-dev ($SUITE) failed"
    DEB=$(ls "$TMP"/deb/libonnxruntime-dev_*.deb)
    dpkg-deb -x "$DEB" "$TMP/x"
    HDR=$(dirname "$(find "$TMP/x" -name onnxruntime_cxx_api.h | head -1)")
    [ -f "$HDR/onnxruntime_cxx_api.h" ] || die "$(basename "$DEB") holds no onnxruntime_cxx_api.h"
    rm -rf "$PREFIX/include"; mkdir -p "$PREFIX/include"
    cp -a "$HDR"/. "$PREFIX/include/"
    basename "$DEB" > "$PREFIX/include/.from-deb"
    say "headers from $(basename "$DEB")"
fi
HDR_API=$(sed -n 's/^#define ORT_API_VERSION \([0-9]*\).*/\1/p' "$PREFIX/include/onnxruntime_c_api.h")
[ -n "$HDR_API" ] || die "cannot read ORT_API_VERSION from $PREFIX/include/onnxruntime_c_api.h"
if [ "$HDR_API" -gt "$LIB_MINOR" ]; then
    die "headers use C API version $HDR_API but the library is onnxruntime $LIB_VERSION (API $LIB_MINOR): use headers no newer than the library"
fi

# --- 4. library: copied (with any provider libraries beside it, which ORT loads from there) -----
rm -f "$PREFIX"/lib/libonnxruntime*
for f in "$ORT_PKG"/capi/libonnxruntime*.so*; do
    cp -p "$f" "$PREFIX/lib/"
done
ln -sf "$LIB_NAME" "$PREFIX/lib/libonnxruntime.so.1"
ln -sf "$LIB_NAME" "$PREFIX/lib/libonnxruntime.so"
echo "$LIB_VERSION" > "$PREFIX/lib/.onnxruntime-version"
echo "$want_stamp" > "$STAMP"
say "ready: $PREFIX (onnxruntime $LIB_VERSION library, C API headers version $HDR_API)"
