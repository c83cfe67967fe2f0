#!/usr/bin/env bash
# Runs ON the GPU machine, from the repository root (docs/gpu.md, "Training on the GPU machine"):
# trains one config for at most $MINUTES, resuming its run when the machine already has it, and
# sends back what shows progress. Long trainings are a chain of such calls while the machine stays
# warm; runs live in .gpu-runs/, which is never carried, so the machine keeps it between calls.
#   CONFIG=configs/stackgan-pp-cub.yaml NAME=stackgan-pp-cub MINUTES=8 bash scripts/gpu-train.sh
# Environment:
#   CONFIG    the config to train (a path in the repository)
#   NAME      the run's folder name under .gpu-runs/ (resumed when it exists)
#   MINUTES   time limit of this call's training (default 8: the device allows 10 per command)
#   SETS      extra --set overrides, space-separated (e.g. "data.batchSize=48"); @runs/ stands for
#             .gpu-runs/ (e.g. "stage1=@runs/stackgan-stage1-cub")
#   DEVICE    default cuda (cpu: the same routine on a machine without a GPU, for trying it)
#   EXPORT=1  also export the best (else newest) checkpoint as fp16 safetensors, split into 15 MiB
#             parts (the device returns files up to 16 MiB): cat <name>.safetensors.part-* > <name>.safetensors
#   BENCH=1   instead of training: bench/precision.js on CONFIG (STEPS steps, default 60, in fp32, tf32,
#             bf16 and fp16; PRECISIONS to choose), into bench-precision.log/json; NAME is not used
# Data: .gpu-data/cub-compact.tar.xz (scripts/compact-cub.mjs) or .gpu-data/anime-compact.tar.xz
# (scripts/compact-anime.mjs), each carried once, is unpacked and prepared into .gpu-runs/data/<name>
# on first use, as the config's `data.cache: data/<name>` asks. `condition.damsm` defaults to .gpu-runs/damsm-cub: train
# configs/damsm-cub.yaml under NAME=damsm-cub first.
# Back in $OUT: setup.log, train.log (this call), metrics.jsonl, the newest sample grid, run.json, and
# with EXPORT=1 the export's parts.
set -euo pipefail
: "${OUT:?set OUT to the folder for the logs}"
: "${CONFIG:?set CONFIG to a config file}"
: "${NAME:?set NAME to the run folder name}"
MINUTES=${MINUTES:-8}
mkdir -p "$OUT"
[ -f .gpu/unpack-node.sh ] || { echo "gpu-train: .gpu/ is missing: run scripts/pack-gpu.sh and carry .gpu" >&2; exit 1; }
repo=$(pwd)
runs=$repo/.gpu-runs
mkdir -p "$runs"

# shellcheck source=/dev/null
source .gpu/unpack-node.sh >"$OUT/setup.log" 2>&1 || { cat "$OUT/setup.log"; exit 1; }
cd .gpu
if [ ! -f build/Release/creativeai.node ] && [ ! -f build/config.json ]; then
  echo "== build the addon" | tee -a "$OUT/setup.log"
  node install/build-native.mjs --jobs "$(nproc)" >>"$OUT/setup.log" 2>&1 || { tail -30 "$OUT/setup.log"; exit 1; }
fi
if command -v nvidia-smi >/dev/null 2>&1; then nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv,noheader >>"$OUT/setup.log"; fi

cli="node dist/src/cli/index.js"
# The config's dataset: data/cub or data/anime, prepared once from the compact copy carried in .gpu-data/.
dataset=$(sed -n 's/^  cache: data\/\([a-z]*\).*/\1/p' "$repo/$CONFIG" | head -1)
case "$dataset" in
  cub) archive=cub-compact.tar.xz source="cub:/tmp/cub-compact" sizes=64,128,256 ;;
  anime) archive=anime-compact.tar.xz source="anime-faces:/tmp/anime-compact" sizes=64 ;;
  *) echo "gpu-train: $CONFIG caches neither data/cub nor data/anime" >&2; exit 1 ;;
esac
if [ ! -f "$runs/data/$dataset/manifest.json" ]; then
  [ -f "$repo/.gpu-data/$archive" ] || { echo "gpu-train: carry .gpu-data/$archive first" >&2; exit 1; }
  echo "== unpack and prepare $dataset" | tee -a "$OUT/setup.log"
  rm -rf "/tmp/${archive%%.tar.xz}" && tar -xJf "$repo/.gpu-data/$archive" -C /tmp
  $cli prepare "$source" --out "$runs/data/$dataset" --sizes "$sizes" >>"$OUT/setup.log" 2>&1
fi

sets=(--set "data.cache=$runs/data/$dataset")
if grep -q '^  damsm: runs/damsm-cub' "$repo/$CONFIG"; then sets+=(--set "condition.damsm=$runs/damsm-cub"); fi
# "@runs/" in SETS names this machine's run folder (stage1=@runs/stackgan-stage1-cub, eval.classifier=@runs/...).
for s in ${SETS:-}; do sets+=(--set "${s//@runs\//$runs/}"); done
if [ "${BENCH:-0}" = 1 ]; then
  bargs=(--config "$repo/$CONFIG" --steps "${STEPS:-60}" --device "${DEVICE:-cuda}" --out "$OUT/bench-precision.json")
  [ -n "${PRECISIONS:-}" ] && bargs+=(--precisions "$PRECISIONS")
  for ((i = 1; i < ${#sets[@]}; i += 2)); do bargs+=(--set "${sets[i]}"); done
  node dist/bench/precision.js "${bargs[@]}" 2>&1 | tee "$OUT/bench-precision.log"
  exit "${PIPESTATUS[0]}"
fi
status=0
if [ -f "$runs/$NAME/run.json" ]; then
  echo "== resume $NAME for $MINUTES min"
  $cli train --resume "$runs/$NAME" --device "${DEVICE:-cuda}" --time-limit "$MINUTES" --no-progress >"$OUT/train.log" 2>&1 || status=$?
else
  echo "== new run $NAME from $CONFIG for $MINUTES min"
  $cli train --config "$repo/$CONFIG" --run-dir "$runs/$NAME" --device "${DEVICE:-cuda}" --time-limit "$MINUTES" --no-progress \
    "${sets[@]}" >"$OUT/train.log" 2>&1 || status=$?
fi
tail -5 "$OUT/train.log"
for f in metrics.jsonl run.json; do [ -f "$runs/$NAME/$f" ] && cp "$runs/$NAME/$f" "$OUT/"; done
newest=$(ls -1 "$runs/$NAME/samples/"*.png 2>/dev/null | tail -1 || true)
[ -n "$newest" ] && cp "$newest" "$OUT/"
if [ "${EXPORT:-0}" = 1 ]; then
  best=$([ -f "$runs/$NAME/checkpoints/best.json" ] && echo --best || true)
  # shellcheck disable=SC2086
  $cli export --model "$runs/$NAME" $best --fp16 --out "$runs/$NAME.safetensors"
  split -b 15M -d -a 2 "$runs/$NAME.safetensors" "$OUT/$NAME.safetensors.part-"
  sha256sum "$runs/$NAME.safetensors" | sed "s|$runs/||" >"$OUT/$NAME.safetensors.sha256"
fi
exit "$status"
