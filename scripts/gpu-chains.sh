#!/usr/bin/env bash
# Runs ON the GPU machine, from the repository root, with .gpu/ packed by scripts/pack-gpu.sh and the
# CUB copy in .gpu/cub-compact.tar.xz (docs/gpu.md, "One call, several runs"): everything in one call,
# since a session's device time (15 minutes) buys one machine start:
#   1. node, the addon (built against python3's torch) and the CUB cache, once;
#   2. a check that the engine trains on the device (a few ops and a backward pass), before any run;
#   3. the plan's chains side by side on the one GPU (each chain's runs in order, a run growing from
#      the one before it through grow.from=@runs/<name>), every run stopped in time by --time-limit;
#   4. the runs named in EXPORT exported as fp16 safetensors in 15 MiB parts, and one tarball of the
#      logs, metrics, run records and newest sample grids.
#   PLAN=.gpu/plan.txt EXPORT="stackgan-pp-256" DEADLINE=560 bash scripts/gpu-chains.sh
# A name in EXPORT ending in '+D' keeps its discriminator(s) too (`export --discriminator`), so a later
# run can go on from the file (init.from / grow.from) when this machine's checkpoints are gone.
# Plan lines: <chain> <run-name> <minutes|rest> <config> [key=value ...]. '@runs/' in a value names
# this machine's run folder; 'rest' gives a chain's last run what is left before DEADLINE seconds
# (counted from the script's start) minus the time kept for the exports. data.cache and
# condition.damsm are set to the carried copies (.gpu/damsm.safetensors: `creativeai export --model
# runs/damsm-cub-species` without --fp16, so that grown runs see the same sentence encoder).
# DEVICE=cpu runs the same routine without a GPU (for trying it; LIBTORCH must then be set).
set -uo pipefail
: "${OUT:?set OUT to the folder for the results}"
: "${PLAN:?set PLAN to a plan file}"
start=$(date +%s)
DEADLINE=${DEADLINE:-560}
DEVICE=${DEVICE:-cuda}
KEEP=${KEEP_FOR_EXPORT:-45} # seconds kept after the runs for exporting and packing
mkdir -p "$OUT"
repo=$(pwd)
runs=$repo/.gpu-runs
logs=$runs/logs
mkdir -p "$runs" "$logs"
elapsed() { echo $(($(date +%s) - start)); }
say() { echo "[$(elapsed) s] $*" | tee -a "$logs/chains.log"; }
pack_logs() {
  # One file back for all the small ones (the device returns at most 8 files).
  (cd "$runs" && {
    find . -maxdepth 2 \( -name '*.log' -o -name 'metrics.jsonl' -o -name 'run.json' -o -name 'config.yaml' \) -print
    # the checkpoints' records (steps, images, seconds): what `creativeai results --summarize` reads
    find . -maxdepth 3 -path '*/checkpoints/*.json' -print
    # the newest sample grid of the runs below 256 px (a 256 px grid is 6 MB; sample the export here)
    for d in */samples; do grep -q 'resolution: 256' "${d%/samples}/config.yaml" 2>/dev/null || ls -1 "$d"/*.png 2>/dev/null | tail -1; done
  } | tar -czf "$OUT/logs.tar.gz" -T -) || true
}
trap pack_logs EXIT

[ -f .gpu/unpack-node.sh ] || { echo "gpu-chains: .gpu/ is missing: run scripts/pack-gpu.sh and carry .gpu" >&2; exit 1; }
[ -f "$PLAN" ] || { echo "gpu-chains: no plan file $PLAN" >&2; exit 1; }
# shellcheck source=/dev/null
source .gpu/unpack-node.sh >"$logs/setup.log" 2>&1 || { cat "$logs/setup.log"; exit 1; }
set +e # unpack-node.sh sets -e; a failing run must not end the others
say "node and packages unpacked"
cd .gpu
if command -v nvidia-smi >/dev/null 2>&1; then nvidia-smi --query-gpu=name,memory.total --format=csv,noheader >>"$logs/setup.log" 2>&1; fi
node install/build-native.mjs --jobs "$(nproc)" >>"$logs/setup.log" 2>&1 || { tail -30 "$logs/setup.log"; exit 1; }
say "addon built"
cli="node dist/src/cli/index.js"
if [ ! -f "$runs/data/cub/manifest.json" ]; then
  rm -rf /tmp/cub-compact && tar -xJf cub-compact.tar.xz -C /tmp || exit 1
  $cli prepare cub:/tmp/cub-compact --out "$runs/data/cub" --sizes 64,128,256 >"$logs/prepare.log" 2>&1 || { tail -20 "$logs/prepare.log"; exit 1; }
  say "CUB prepared: $(grep -o 'split .*' "$logs/prepare.log" | tail -1)"
fi

# The engine on the device: a convolution, autocast-free, forward and backward.
node --input-type=module -e "
const e = await import('./dist/src/engine/index.js');
const d = '$DEVICE';
if (d !== 'cpu' && !e.cuda.isAvailable()) throw new Error('CUDA is not available to the addon');
const x = e.randn([8, 3, 64, 64], { device: d }).requiresGrad_();
const w = e.randn([16, 3, 3, 3], { device: d }).requiresGrad_();
const y = e.F.conv2d(x, w, null, { padding: 1 }).square().mean();
y.backward();
console.log('device check:', d, 'loss', y.item().toFixed(4), 'grad', w.grad.abs().sum().item().toFixed(2));
" >>"$logs/setup.log" 2>&1 || { tail -20 "$logs/setup.log"; exit 1; }
say "$(tail -1 "$logs/setup.log")"

# One chain: its runs in order; a failed run ends the chain.
chain() {
  local label=$1
  shift
  local line name minutes config sets left
  for line in "$@"; do
    read -r -a f <<<"$line"
    name=${f[1]} minutes=${f[2]} config=${f[3]}
    sets=(--set "data.cache=$runs/data/cub" --set "condition.damsm=$repo/.gpu/damsm.safetensors" --set eval.samples=0)
    for s in "${f[@]:4}"; do sets+=(--set "${s//@runs\//$runs/}"); done
    if [ "$minutes" = rest ]; then
      left=$((DEADLINE - KEEP - $(elapsed)))
      minutes=$(awk -v s="$left" 'BEGIN { printf "%.2f", (s - 20) / 60 }')
    fi
    if [ "$(elapsed)" -ge $((DEADLINE - KEEP)) ] || awk -v m="$minutes" 'BEGIN { exit !(m < 0.25) }'; then
      say "$label: no time left for $name"
      return 1
    fi
    say "$label: $name for $minutes min"
    # libtorch warns once per step that the text encoder's LSTM weights are not one cuDNN chunk.
    $cli train --config "$repo/$config" --run-dir "$runs/$name" --device "$DEVICE" --time-limit "$minutes" \
      --no-progress "${sets[@]}" 2>&1 | grep -v 'RNN module weights are not part of single contiguous' >"$runs/$name.log"
    if [ "${PIPESTATUS[0]}" != 0 ]; then
      say "$label: $name failed: $(tail -3 "$runs/$name.log" | tr '\n' ' ')"
      return 1
    fi
    say "$label: $name done: $(grep '^step ' "$runs/$name.log" | tail -1 | cut -c1-160)"
  done
}

mapfile -t lines < <(grep -v '^\s*#' "$repo/$PLAN" | grep -v '^\s*$')
mapfile -t labels < <(printf '%s\n' "${lines[@]}" | awk '!seen[$1]++ { print $1 }')
pids=()
for label in "${labels[@]}"; do
  mapfile -t mine < <(printf '%s\n' "${lines[@]}" | awk -v c="$label" '$1 == c')
  chain "$label" "${mine[@]}" &
  pids+=($!)
done
# A run's start-up and its last checkpoint come on top of its --time-limit: at DEADLINE - KEEP every
# run still training gets SIGINT (it checkpoints and stops), so the exports always happen in time.
(
  sleep $((DEADLINE - KEEP - $(elapsed)))
  if pgrep -f "index.js train .*--run-dir $runs/" >/dev/null; then
    say "deadline: SIGINT to the runs still training"
    pkill -INT -f "index.js train .*--run-dir $runs/"
  fi
) &
watchdog=$!
status=0
for p in "${pids[@]}"; do wait "$p" || status=1; done
kill "$watchdog" 2>/dev/null
if command -v nvidia-smi >/dev/null 2>&1; then nvidia-smi --query-gpu=memory.used --format=csv,noheader >>"$logs/setup.log" 2>&1; fi

for entry in ${EXPORT:-}; do
  name=${entry%+D}
  withD=()
  [ "$name" = "$entry" ] || withD=(--discriminator)
  [ -d "$runs/$name/checkpoints" ] || { say "export: $name has no checkpoints"; status=1; continue; }
  $cli export --model "$runs/$name" --fp16 ${withD[@]+"${withD[@]}"} --out "$runs/$name.safetensors" >>"$logs/chains.log" 2>&1 || { status=1; continue; }
  split -b 15M -d -a 1 "$runs/$name.safetensors" "$OUT/$name.safetensors.part-"
  (cd "$runs" && sha256sum "$name.safetensors") >"$OUT/$name.safetensors.sha256"
  say "exported $name: $(du -h "$runs/$name.safetensors" | cut -f1)"
done
exit "$status"
