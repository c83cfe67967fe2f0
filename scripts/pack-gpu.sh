#!/usr/bin/env bash
# Packs what a run on the GPU machine needs into the ignored .gpu/ folder (docs/gpu.md):
#   .gpu/node.xz + .gpu/unpack-node.sh   Node.js for the machine (from ../shared/gpu/pack-node.sh)
#   .gpu/dist/                           the compiled JavaScript (npm run build; *.js only)
#   .gpu/native/, .gpu/install/          the addon's C++ sources and its build script
#   .gpu/bench/dcgan_ref.cpp             the C++ reference of the engine benchmark
#   .gpu/node_modules/                   the header-only packages node-addon-api, node-api-headers, and
#                                        sharp (+ libvips), yaml: what training needs
#   .gpu/package.json                    ("type": "module" for dist/)
# .gpu/ is then a package root of its own: scripts/gpu-run.sh builds the addon into .gpu/build there.
# With --compact, dist/ and node_modules/ travel as one .gpu/bundle.tar.xz (6.9 MiB instead of 22.6),
# which unpack-node.sh unpacks on the machine: room for data in the call's 64 MiB.
# Usage (repository root): bash scripts/pack-gpu.sh [--no-build] [--compact]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
gpu=.gpu

build=1
compact=0
for a in "$@"; do
  case "$a" in
    --no-build) build=0 ;;
    --compact) compact=1 ;;
    *) echo "pack-gpu: unknown argument $a" >&2; exit 2 ;;
  esac
done

# 1. Node.js: writes .gpu/node.xz (once) and .gpu/unpack-node.sh, and keeps .gpu/ out of git.
# (pack-node.sh appends to .git/info/exclude, which a fresh checkout may lack.)
mkdir -p "$(git rev-parse --git-dir)/info"
bash ../shared/gpu/pack-node.sh >/dev/null
# unpack-node.sh finds node.xz through $0, which is the calling shell (or script) when the file is
# sourced as the routine says (`source .gpu/unpack-node.sh`); look next to the sourced file instead.
sed -i 's|dirname "\$0"|dirname "${BASH_SOURCE[0]:-$0}"|' "$gpu/unpack-node.sh"
grep -q 'BASH_SOURCE' "$gpu/unpack-node.sh" || { echo "pack-gpu: could not patch $gpu/unpack-node.sh" >&2; exit 1; }

# 2. What the run needs, fresh each time (a stale build/ from an earlier run would travel too).
rm -rf "$gpu/dist" "$gpu/native" "$gpu/install" "$gpu/bench" "$gpu/node_modules" "$gpu/build" "$gpu/package.json" \
  "$gpu/bundle.tar.xz"
if [ "$build" = 1 ]; then npm run --silent build; fi
[ -d dist/src/engine ] || { echo "pack-gpu: dist/ is missing: run npm run build" >&2; exit 1; }
(cd dist && find . -name '*.js' -print0 | while IFS= read -r -d '' f; do
  mkdir -p "../$gpu/dist/$(dirname "$f")" && cp "$f" "../$gpu/dist/$f"
done)
mkdir -p "$gpu/native" "$gpu/install" "$gpu/bench" "$gpu/node_modules"
cp native/*.cc native/*.h "$gpu/native/"
cp install/build-native.mjs "$gpu/install/"
cp bench/dcgan_ref.cpp "$gpu/bench/"
cp package.json "$gpu/"
# sharp (with its libvips build) and yaml: what `creativeai prepare/train/export` load (the server's
# packages are imported only by `serve` and `worker`).
for pkg in node-addon-api node-api-headers sharp @img/colour @img/sharp-linux-x64 @img/sharp-libvips-linux-x64 \
  detect-libc semver yaml; do
  [ -d "node_modules/$pkg" ] || { echo "pack-gpu: node_modules/$pkg is missing: run npm install" >&2; exit 1; }
  mkdir -p "$gpu/node_modules/$(dirname "$pkg")"
  cp -r "node_modules/$pkg" "$gpu/node_modules/$pkg"
done

if [ "$compact" = 1 ]; then
  (cd "$gpu" && tar -cf - dist node_modules | xz -T0 -6 >bundle.tar.xz && rm -rf dist node_modules)
  cat >>"$gpu/unpack-node.sh" <<'EOS'
# pack-gpu.sh --compact: dist/ and node_modules/ travel packed.
if [ -f "$here/bundle.tar.xz" ] && [ ! -d "$here/dist" ]; then tar -xJf "$here/bundle.tar.xz" -C "$here"; fi
EOS
fi

# 3. Size: everything that travels must stay under 64 MiB per call (the working tree counts too).
bytes=$(du -sb "$gpu" | cut -f1)
echo "pack-gpu: $gpu/ holds $(find "$gpu" -type f | wc -l) files, $((bytes / 1024)) KiB in all:"
du -sh "$gpu"/* | sed 's/^/  /'
if [ "$bytes" -gt $((48 * 1024 * 1024)) ]; then
  echo "pack-gpu: WARNING: $gpu/ is over 48 MiB; the limit per call is 64 MiB with the working tree" >&2
fi
