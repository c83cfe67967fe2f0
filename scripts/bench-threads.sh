#!/usr/bin/env bash
# How to spend the cores on training: one run on every core, or one run per core side by side?
# Trains a config for a few steps three ways, with nothing else running, and prints the img/s
# medians (the log's windows after the first): all cores alone, one thread alone, and one thread
# each for N copies at once (N = the cores), then the side-by-side total as a ratio to the
# all-core run.
# Usage: scripts/bench-threads.sh [config] [steps] [extra --set arguments...]
#   (default: configs/dfgan-cub.yaml, 40 steps; needs its data cache and DAMSM run)
set -euo pipefail
cd "$(dirname "$0")/.."
config=${1:-configs/dfgan-cub.yaml}
steps=${2:-40}
shift $(($# > 2 ? 2 : $#))
extra=("$@")
cores=$(nproc)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
run() { # <name> <threads>
  OMP_WAIT_POLICY=PASSIVE CREATIVEAI_THREADS=$2 node dist/src/cli/index.js train --config "$config" \
    --run-dir "$tmp/$1" --set eval.samples=0 --set train.steps="$steps" --set train.logEvery=10 \
    --set train.checkpointEvery=100000 --set train.sampleEvery=100000 --no-progress "${extra[@]}" \
    >"$tmp/$1.log" 2>&1
}
# The median img/s of a run's log windows, the first (start-up) left out.
median() {
  grep -o '[0-9.]* img/s' "$tmp/$1.log" | awk 'NR > 1 { print $1 }' | sort -n |
    awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}
run all "$cores"
run one 1
for i in $(seq "$cores"); do run "side$i" 1 & done
wait
all=$(median all)
echo "$config, $steps steps: $cores threads alone $all img/s; 1 thread alone $(median one) img/s"
total=0
for i in $(seq "$cores"); do
  m=$(median "side$i")
  echo "  side by side, 1 thread each: job $i $m img/s"
  total=$(awk -v a="$total" -v b="$m" 'BEGIN { print a + b }')
done
echo "  total $total img/s = $(awk -v t="$total" -v a="$all" 'BEGIN { printf "%.2f", t / a }') × the $cores-thread run"
