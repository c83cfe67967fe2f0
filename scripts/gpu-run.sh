#!/usr/bin/env bash
# Runs ON the GPU machine, from the repository root, with .gpu/ packed by scripts/pack-gpu.sh and
# carried along (docs/gpu.md):  bash scripts/gpu-run.sh
# 1. puts node on PATH (.gpu/unpack-node.sh; $LIBTORCH defaults to python3's torch),
# 2. builds the addon in .gpu/ against $LIBTORCH (libtorch_cuda is linked when present),
# 3. runs the engine tests marked for CUDA (those reading CREATIVEAI_DEVICE) with CREATIVEAI_DEVICE=cuda,
# 4. runs the engine benchmark (TS engine vs C++ reference) and, on CUDA, a profiling run.
# Logs go to $OUT: setup.log build.log tests.log bench.log bench.json profile.log.
# Environment: BENCH_DEVICE (default cuda when nvidia-smi sees a GPU, else cpu), BENCH_ARGS (extra
# benchmark options, e.g. "--steps 200"), BENCH_PROFILE (1/0; default 1 on CUDA).
set -euo pipefail
: "${OUT:?set OUT to the folder for the logs}"
mkdir -p "$OUT"
[ -f .gpu/unpack-node.sh ] || { echo "gpu-run: .gpu/ is missing: run scripts/pack-gpu.sh and carry .gpu" >&2; exit 1; }

# shellcheck source=/dev/null
source .gpu/unpack-node.sh >"$OUT/setup.log" 2>&1 || { cat "$OUT/setup.log"; exit 1; }
cd .gpu
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then gpu=1; else gpu=0; fi
device=${BENCH_DEVICE:-$([ "$gpu" = 1 ] && echo cuda || echo cpu)}
profile=${BENCH_PROFILE:-$([ "$device" = cuda ] && echo 1 || echo 0)}
{
  echo "date: $(date -u +%FT%TZ)  host: $(hostname)  cores: $(nproc)  device: $device"
  if [ "$gpu" = 1 ]; then nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader; fi
  g++ --version | head -1
} >>"$OUT/setup.log" 2>&1
cat "$OUT/setup.log"

echo "== build the addon (log: build.log)"
node install/build-native.mjs --jobs "$(nproc)" 2>&1 | tee "$OUT/build.log"
cat build/config.json | tee -a "$OUT/build.log"

status=0
echo "== the device tier on $device (log: tests.log)"
# The tests that take their device from CREATIVEAI_DEVICE (test/helpers/device.ts): they fail, not
# skip, when the device cannot be used.
mapfile -t tier < <(grep -l 'helpers/device.js' dist/test/*/*.test.js)
if [ "${#tier[@]}" -eq 0 ]; then
  echo "no test imports test/helpers/device.ts: the build is incomplete" | tee "$OUT/tests.log"
  status=1
else
  CREATIVEAI_DEVICE=$device node --test --test-concurrency=1 "${tier[@]}" 2>&1 | tee "$OUT/tests.log" || status=1
fi

echo "== engine benchmark on $device (log: bench.log)"
# shellcheck disable=SC2086
node dist/bench/engine.js --device "$device" --out "$OUT/bench.json" ${BENCH_ARGS:-} 2>&1 | tee "$OUT/bench.log" || status=1

if [ "$profile" = 1 ]; then
  echo "== profile (log: profile.log)"
  # shellcheck disable=SC2086
  node dist/bench/engine.js --device "$device" --rounds 1 --profile ${BENCH_ARGS:-} 2>&1 | tee "$OUT/profile.log" ||
    status=1
fi
exit "$status"
