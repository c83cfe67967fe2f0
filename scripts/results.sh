#!/usr/bin/env bash
# Regenerates the shipped models and the pictures in docs/results.md from the runs in runs/:
# fp16 exports in models/, sample grids and loss curves in docs/images/, evaluation JSON in
# docs/results/ (project-feature FID/KID/IS, diversity, R-precision, attribute accuracy).
set -euo pipefail
cd "$(dirname "$0")/.."
cai() { node dist/src/cli/index.js "$@"; }
# True when every argument is a directory (a block that compares runs needs all of them).
all_dirs() {
  local d
  for d in "$@"; do [ -d "$d" ] || return 1; done
}
mkdir -p models docs/images
# The fixed captions of every bird sample grid: the seed's own caption first.
bird_captions=(--text "this bird is red with white and has a very short beak" --text "a small yellow bird with black wings and a short pointed beak" --text "this bird has a white belly, a grey back and a long orange bill" --text "a black bird with a long tail and a thick black beak")

if [ -d runs/tag-gan-anime ]; then
  cai export --model runs/tag-gan-anime --best --out models/tag-gan-anime.safetensors --fp16
  cai sample --model models/tag-gan-anime.safetensors --tags-file samples/testing_tags.txt --seed 42 --out docs/images/tag-gan-anime-testing-tags.png --device cpu
  cai sample --model models/tag-gan-anime.safetensors --text "blonde hair purple eyes" --text "pink hair green eyes" --text "black hair yellow eyes" --text "white hair aqua eyes" --n 8 --seed 1 --out docs/images/tag-gan-anime-unseen.png --device cpu
  cai plot --run runs/tag-gan-anime --keys loss/D,loss/G --smooth 0.6 --out docs/images/tag-gan-anime-loss.png
  cai plot --run runs/tag-gan-anime --keys D/real,D/fake,D/wrong --smooth 0.6 --out docs/images/tag-gan-anime-d.png
  cai plot --run runs/tag-gan-anime --keys eval/attr_hair,eval/attr_eyes,eval/attr_both --out docs/images/tag-gan-anime-attr.png
fi
if [ -d runs/tag-acgan-anime ]; then
  cai export --model runs/tag-acgan-anime --best --out models/tag-acgan-anime.safetensors --fp16
  cai sample --model models/tag-acgan-anime.safetensors --tags-file samples/testing_tags.txt --seed 42 --out docs/images/tag-acgan-anime-testing-tags.png --device cpu
  cai sample --model models/tag-acgan-anime.safetensors --text "blonde hair purple eyes" --text "pink hair green eyes" --text "black hair yellow eyes" --text "white hair aqua eyes" --n 8 --seed 1 --out docs/images/tag-acgan-anime-unseen.png --device cpu
  cai plot --run runs/tag-acgan-anime --keys loss/D,loss/G --smooth 0.6 --out docs/images/tag-acgan-anime-loss.png
  cai plot --run runs/tag-acgan-anime --keys eval/attr_hair,eval/attr_eyes,eval/attr_both --out docs/images/tag-acgan-anime-attr.png
fi
# The first run (shipped until 2026-12-03; its directory was lost on 2026-12-02: docs/results/runs/tag-projection-anime.json).
if [ -d runs/tag-projection-anime ]; then
  cai plot --run runs/tag-projection-anime --keys eval/attr_hair,eval/attr_eyes,eval/attr_both,eval/attr_unseen_both --out docs/images/tag-projection-anime-accuracy.png
  cai plot --run runs/tag-projection-anime --keys eval/fid --out docs/images/tag-projection-anime-fid.png
  cai results --summarize runs/tag-projection-anime
fi
# The run from nothing after runs/ was lost (2026-12-03): its record, and its curves beside the first run's record.
# The shipped model is its step 24,000 (1.54 M images, the run's best by both-right; steps 12,000 and 19,500 before it).
if [ -d runs/tag-projection-anime-3 ]; then
  cai export --model runs/tag-projection-anime-3/checkpoints/step-00024000.json --out models/tag-projection-anime.safetensors --fp16 --discriminator --dataset data/anime
  cai sample --model models/tag-projection-anime.safetensors --tags-file samples/testing_tags.txt --seed 42 --out docs/images/tag-projection-anime-testing-tags.png --device cpu
  cai sample --model models/tag-projection-anime.safetensors --text "blonde hair purple eyes" --text "pink hair green eyes" --text "black hair yellow eyes" --text "white hair aqua eyes" --n 8 --seed 1 --out docs/images/tag-projection-anime-unseen.png --device cpu
  if [ -d runs/attribute-classifier-anime ]; then
    cai directions --model models/tag-projection-anime.safetensors --classifier runs/attribute-classifier-anime --samples 4096 --measure 128 --strengths 2,4
  fi
  cai results --summarize runs/tag-projection-anime-3 --threads 2
  cai plot --runs runs/tag-projection-anime-3,docs/results/runs/tag-projection-anime.json --keys eval/attr_both --x images --title "both colours right (in-training, 528 faces)" --out docs/images/tag-projection-anime-3-both.png
  cai plot --runs runs/tag-projection-anime-3,docs/results/runs/tag-projection-anime.json --keys eval/fid --x images --title "FID (classifier features, in-training)" --out docs/images/tag-projection-anime-3-fid.png
fi
if [ -d runs/latent-encoder-anime ]; then
  # The last checkpoint: its error on real faces is flat over the run (docs/results.md, "Latent space").
  cai export --model runs/latent-encoder-anime --out models/tag-projection-anime.encoder.safetensors --fp16
  cai invert --model models/tag-projection-anime.safetensors --measure --dataset data/anime --split test --n 12 --steps 100 --starts 4 --json docs/results/tag-projection-anime-inversion.json
  bash scripts/invert-figure.sh
fi
if [ -d runs/damsm-cub ]; then
  cai plot --run runs/damsm-cub --out docs/images/damsm-cub-loss.png
  cai plot --run runs/damsm-cub --keys eval/val_loss --out docs/images/damsm-cub-val.png
fi
# The birds' DAMSM before (AttnGAN's recipe) and after (species supervision, cub-extra, DiffAugment),
# scored on the real held-out birds (issue 18).
for run in damsm-cub-baseline damsm-cub-species; do
  if all_dirs "runs/$run" data/cub; then
    cai eval --damsm "runs/$run" --dataset data/cub --split test --json "docs/results/$run-real.json" --device cpu
    cai eval --damsm "runs/$run" --dataset data/cub --split val --json "docs/results/$run-real-val.json" --device cpu
  fi
done
# The StackGAN shipped until 2026-12-04 (runs/stackgan-stage2-cub's step 806 on a 73 CPU-minute Stage I),
# from git: the "-eval-64/256" files below are its.
stackgan_first=runs/stackgan-cub-1-shipped.safetensors
mkdir -p runs
git show 0161c88:models/stackgan-cub.safetensors >"$stackgan_first"
# The shipped bird models re-scored through the new encoders (features, R-precision and its real figure).
if all_dirs runs/damsm-cub-species data/cub; then
  cai eval --model models/gan-int-cls-cub.safetensors --damsm runs/damsm-cub-species --dataset data/cub --split test --reference val --metrics fid,kid,div,rprec --n 1000 --json docs/results/gan-int-cls-cub-eval-species.json --device cpu
  for side in 64 256; do
    cai eval --model "$stackgan_first" --damsm runs/damsm-cub-species --stage "$side" --dataset data/cub --split test --reference val --metrics fid,kid,div,rprec --n 1000 --json "docs/results/stackgan-cub-eval-$side-species.json" --device cpu
  done
fi
if all_dirs runs/damsm-cub-baseline runs/damsm-cub-species; then
  cai plot --runs runs/damsm-cub-baseline,runs/damsm-cub-species --keys eval/val_loss --out docs/images/damsm-cub-val-loss.png
  cai plot --run runs/damsm-cub-species --keys acc/species,acc/s_i2t --smooth 0.9 --out docs/images/damsm-cub-species-acc.png
fi
if [ -d runs/gan-int-cls-cub ]; then
  cai export --model runs/gan-int-cls-cub --best --out models/gan-int-cls-cub.safetensors --fp16
  cai sample --model models/gan-int-cls-cub.safetensors "${bird_captions[@]}" --n 8 --seed 42 --out docs/images/gan-int-cls-cub.png --device cpu
  cai sample --model models/gan-int-cls-cub.safetensors --text "a small bright yellow bird with black wings" --text "a large dark blue bird with a long tail" --interpolate --n 8 --seed 3 --out docs/images/gan-int-cls-cub-interpolation.png --device cpu
  cai plot --run runs/gan-int-cls-cub --keys loss/D,loss/G --smooth 0.6 --out docs/images/gan-int-cls-cub-loss.png
  cai plot --run runs/gan-int-cls-cub --keys eval/rprec --out docs/images/gan-int-cls-cub-rprec.png
fi

cai sample --model "$stackgan_first" "${bird_captions[@]}" --n 2 --seed 42 --out /tmp/stackgan-cub.png --device cpu && cp /tmp/stackgan-cub-stages.png docs/images/stackgan-cub-stages.png
if [ -d runs/stackgan-stage2-cub ]; then
  cai plot --run runs/stackgan-stage2-cub --keys loss/D,loss/G --smooth 0.6 --out docs/images/stackgan-stage2-cub-loss.png
fi
for run in stackgan-stage1-cub stackgan-stage1-cub-b16; do
  if [ -d "runs/$run" ]; then
    cai sample --model "runs/$run" "${bird_captions[@]}" --n 8 --seed 42 --out "docs/images/$run.png" --device cpu
  fi
done

mkdir -p docs/results
if [ -f models/tag-gan-anime.safetensors ] && [ -d data/anime ] && [ -d runs/attribute-classifier-anime ]; then
  cai eval --model models/tag-gan-anime.safetensors --dataset data/anime --metrics fid,kid,is,div,attr --classifier runs/attribute-classifier-anime --n 1000 --per-combo 16 --reference val --json docs/results/tag-gan-anime-eval.json --device cpu
fi
if [ -f models/tag-acgan-anime.safetensors ] && [ -d data/anime ] && [ -d runs/attribute-classifier-anime ]; then
  cai eval --model models/tag-acgan-anime.safetensors --dataset data/anime --metrics fid,kid,is,div,attr --classifier runs/attribute-classifier-anime --n 1000 --per-combo 16 --reference val --json docs/results/tag-acgan-anime-eval.json --device cpu
fi
if [ -f models/tag-projection-anime.safetensors ] && [ -d data/anime ] && [ -d runs/attribute-classifier-anime ]; then
  cai eval --model models/tag-projection-anime.safetensors --dataset data/anime --metrics fid,kid,is,div,attr --classifier runs/attribute-classifier-anime --n 1000 --per-combo 16 --reference val --json docs/results/tag-projection-anime-eval.json --device cpu
  # Diversity over every present combination with two or more test faces (113), not a seeded 20 of them.
  for m in tag-gan-anime tag-acgan-anime tag-projection-anime; do
    cai eval --model models/$m.safetensors --dataset data/anime --metrics div --classifier runs/attribute-classifier-anime --div-captions all --reference val --json docs/results/$m-div-all-eval.json --device cpu
  done
  # The stronger judge (the classifier's config's 3,000 steps): docs/results.md, "A stronger judge".
  if [ -d runs/attribute-classifier-anime-3000 ]; then
    cai eval --model models/tag-projection-anime.safetensors --dataset data/anime --metrics attr --classifier runs/attribute-classifier-anime-3000 --per-combo 16 --json docs/results/tag-projection-anime-cls3000-eval.json --device cpu
  fi
fi
# A bird model through the species encoders: on the test protocol (test captions, real val birds beside;
# docs/results/<name>-eval.json) or, with "val", on the validation split against the training birds
# (docs/results/<name>-val-eval.json), where DF-GAN checkpoints are picked.
# The encoders are $bird_damsm: the species DAMSM run, or from 2026-12-04 on the committed pair.
# A stacked model's stage (64, 128 or 256) is scored on the test protocol with a fourth argument
# (docs/results/<name>-eval-<stage>.json).
# Usage: bird_eval <model> <name> [test|val] [stage]
bird_damsm=runs/damsm-cub-species
bird_eval() {
  if [ "${3:-test}" = val ]; then
    cai eval --model "$1" --damsm "$bird_damsm" --dataset data/cub --split val --reference train --metrics fid,kid,div,rprec --n 1000 --json "docs/results/$2-val-eval.json" --device cpu
  elif [ -n "${4:-}" ]; then
    cai eval --model "$1" --damsm "$bird_damsm" --stage "$4" --dataset data/cub --split test --reference val --metrics fid,kid,div,rprec --n 1000 --json "docs/results/$2-eval-$4.json" --device cpu
  else
    cai eval --model "$1" --damsm "$bird_damsm" --dataset data/cub --split test --reference val --metrics fid,kid,div,rprec --n 1000 --json "docs/results/$2-eval.json" --device cpu
  fi
}
# An image as a JPEG of the quality given. Usage: to_jpeg <in> <out.jpg> <quality>
to_jpeg() {
  node -e "require('sharp')(process.argv[1]).jpeg({ quality: Number(process.argv[3]) }).toFile(process.argv[2])" "$1" "$2" "$3"
}
# The top square of a sample grid (as many rows as it has columns), as a JPEG: the first captions of
# a tall grid, whatever its tile size.
top_square() {
  node -e "
const sharp = require('sharp');
(async () => {
  const [input, out] = process.argv.slice(1);
  const { width } = await sharp(input).metadata();
  await sharp(input).extract({ left: 0, top: 0, width, height: width }).jpeg({ quality: 85 }).toFile(out);
})();" "$1" "$2"
}
# Two images side by side, each scaled to the height given, 10 px apart, as a JPEG.
# Usage: side_by_side <left> <right> <out.jpg> <height>
side_by_side() {
  node -e "
const sharp = require('sharp');
(async () => {
  const [left, right, out, h] = process.argv.slice(1);
  const height = Number(h);
  const [a, b] = await Promise.all(
    [left, right].map((f) => sharp(f).resize({ height }).toBuffer({ resolveWithObject: true })),
  );
  await sharp({ create: { width: a.info.width + 10 + b.info.width, height, channels: 3, background: '#ffffff' } })
    .composite([{ input: a.data, left: 0, top: 0 }, { input: b.data, left: a.info.width + 10, top: 0 }])
    .jpeg({ quality: 85 })
    .toFile(out);
})();" "$1" "$2" "$3" "$4"
}
# A tree model shipped from a checkpoint: exported as fp16 to <file>, the fixed captions sampled
# (<n> images each, to /tmp/<name>.png with its files per stage, /tmp/<name>-<side>.png, and AttnGAN's
# /tmp/<name>-attention-<side>.png) and each <side> given scored on the test protocol
# (docs/results/<name>-shipped-eval-<side>.json).
# Usage: ship_tree <checkpoint> <file> <name> <n> <side>...
ship_tree() {
  local ck=$1 file=$2 name=$3 n=$4 side
  shift 4
  cai export --model "$ck" --out "$file" --fp16
  cai sample --model "$file" "${bird_captions[@]}" --n "$n" --seed 42 --out "/tmp/$name.png" --device cpu
  for side in "$@"; do
    bird_eval "$file" "$name-shipped" test "$side"
  done
}
# The first <rows> images of a word-attention figure, as a JPEG: each a row of <side> px tiles 2 px
# apart (the image, then one per word, as many as the longest caption has), cut after <words> words.
# Usage: attention_rows <in> <out.jpg> <side> <rows> <words>
attention_rows() {
  node -e "
const sharp = require('sharp');
const [input, out, side, rows, words] = process.argv.slice(1).map((a, i) => (i < 2 ? a : Number(a)));
sharp(input)
  .extract({ left: 0, top: 0, width: (words + 1) * (side + 2) + 2, height: rows * (side + 2) + 2 })
  .jpeg({ quality: 85 })
  .toFile(out);" "$1" "$2" "$3" "$4" "$5"
}
# The step of a checkpoint file (runs/<run>/checkpoints/step-00001000.safetensors → 1000).
checkpoint_step() {
  local step=${1##*/step-}
  echo $((10#${step%.safetensors}))
}
# DF-GAN on the birds (issue 18): the shipped checkpoint, picked among the kept checkpoints of its run
# by R-precision on the validation split (the val evaluations below), scored on the test split
# through the same encoders as the models above. Change dfgan_shipped only when another checkpoint
# leads it on validation R-precision by more than one spread (docs/results.md, DF-GAN, "Steps 17,000
# to 19,000").
# Shipped until 2026-12-05 (the pick at the end of this script replaces it).
dfgan_shipped=runs/dfgan-cub-6/checkpoints/step-00023000.safetensors
if [ -f "$dfgan_shipped" ]; then
  cai export --model "$dfgan_shipped" --out models/dfgan-cub.safetensors --fp16 --discriminator
  cai sample --model models/dfgan-cub.safetensors "${bird_captions[@]}" --n 8 --seed 42 --out docs/images/dfgan-cub.png --device cpu
  if all_dirs runs/damsm-cub-species data/cub; then
    bird_eval models/dfgan-cub.safetensors dfgan-cub
  fi
fi
# The files shipped before, from git: until 2026-12-03 runs/dfgan-cub's step 9,500, then until
# 2026-12-04 runs/dfgan-cub-4's step 1,000 (also on the validation split its successor was picked on),
# then that day until 04:40 runs/dfgan-cub-6's step 12,000, then until 10:40 its step 15,000.
if all_dirs runs/damsm-cub-species data/cub; then
  mkdir -p runs
  for shipped in 2b45fe3:dfgan-cub-6-15000-shipped 5276c41:dfgan-cub-6-12000-shipped a339592:dfgan-cub-9500 baedd51:dfgan-cub-4-1000; do
    commit=${shipped%%:*} name=${shipped#*:}
    git show "$commit:models/dfgan-cub.safetensors" >"runs/$name.safetensors"
    bird_eval "runs/$name.safetensors" "$name"
  done
  bird_eval runs/dfgan-cub-4-1000.safetensors dfgan-cub-4-1000 val
fi
# The first run's curves (results.md's DF-GAN section), while its directory is there.
if [ -d runs/dfgan-cub ]; then
  cai plot --run runs/dfgan-cub --keys eval/rprec --out docs/images/dfgan-cub-rprec.png
  cai plot --run runs/dfgan-cub --keys eval/fid --out docs/images/dfgan-cub-fid.png
fi
# Every DF-GAN run: its record (docs/results/runs/<run>.json), read by results.md's run tables
# and curves.
for dir in runs/dfgan-cub-[0-9]*; do
  if [ -d "$dir" ]; then
    cai results --summarize "$dir"
  fi
done
# A run of the 1 M-image chain from nothing: its R-precision and FID curves against images seen beside
# earlier runs' records, and the fixed captions' samples at some checkpoints (while they are kept).
# Usage: dfgan_chain <run> <step>[,<step>...] <record>...
dfgan_chain() {
  local run=$1 steps=$2 name step
  shift 2
  name=$(basename "$run")
  [ -d "$run" ] || return 0
  local runs
  runs=$(
    IFS=,
    echo "$run,$*"
  )
  for key in rprec fid; do
    cai plot --runs "$runs" --keys "eval/$key" --x images --out "docs/images/$name-$key.png"
  done
  local ck
  for step in ${steps//,/ }; do
    ck="$run/checkpoints/step-$(printf %08d "$step").safetensors"
    if [ -f "$ck" ]; then
      cai sample --model "$ck" "${bird_captions[@]}" --n 8 --seed 42 --out "docs/images/$name-$step.png" --device cpu
    fi
  done
}
dfgan_chain runs/dfgan-cub-5 7000 docs/results/runs/dfgan-cub.json
# Once more after runs/ was lost on 2026-12-03, conditioned on and scored through the reproduced first
# DAMSM, as the first run was; beside both earlier runs' records.
dfgan_chain runs/dfgan-cub-6 6000,10500 docs/results/runs/dfgan-cub.json docs/results/runs/dfgan-cub-5.json
# Its kept checkpoints from step 9,000 on (past 30 % in training), every 500 steps (not the ones an
# interrupt wrote): on the validation split (1,000 captions, against the training birds), where the
# shipped one is picked, and on the test protocol.
if all_dirs runs/damsm-cub-species data/cub; then
  for ck in runs/dfgan-cub-6/checkpoints/step-*.safetensors; do
    [ -f "$ck" ] || continue
    step=$(checkpoint_step "$ck")
    if ((step >= 9000 && step % 500 == 0)); then
      bird_eval "$ck" "dfgan-cub-6-$step" val
      bird_eval "$ck" "dfgan-cub-6-$step"
    fi
  done
fi
# The seed demo's models trained for real (issue 19), two runs at a time at one thread each
# (docs/training.md): StackGAN's Stage I, its record and R-precision curve, and the checkpoint that
# results.md names (the run's best by R-precision of 1,000 validation captions when it was written:
# change it with the text) on the test protocol, with the fixed captions' samples.
stage1_picked=runs/stackgan-stage1-cub-2/checkpoints/step-00007560.safetensors
if all_dirs runs/stackgan-stage1-cub-2 runs/damsm-cub-species data/cub; then
  cai results --summarize runs/stackgan-stage1-cub-2
  cai plot --runs runs/stackgan-stage1-cub-2 --keys eval/rprec --x images --out docs/images/stackgan-stage1-cub-2-rprec.png
  if [ -f "$stage1_picked" ]; then
    cai sample --model "$stage1_picked" "${bird_captions[@]}" --n 8 --seed 42 --out docs/images/stackgan-stage1-cub-2.png --device cpu
    bird_eval "$stage1_picked" stackgan-stage1-cub-2
  fi
fi
# Its Stage II: record, R-precision curve, each stage's image for the fixed captions at the checkpoint
# results.md shows (step 1,418, where it stood a session before), and the checkpoint shipped as
# models/stackgan-cub.safetensors (with its Stage I: one file, both stages), scored per stage.
stage2_shown=runs/stackgan-stage2-cub-2/checkpoints/step-00001418.safetensors
stage2_shipped=runs/stackgan-stage2-cub-2/checkpoints/step-00002160.safetensors
if [ -d runs/stackgan-stage2-cub-2 ]; then
  cai results --summarize runs/stackgan-stage2-cub-2
  cai plot --runs runs/stackgan-stage2-cub-2 --keys eval/rprec --x images --out docs/images/stackgan-stage2-cub-2-rprec.png
  if [ -f "$stage2_shown" ]; then
    cai sample --model "$stage2_shown" "${bird_captions[@]}" --n 2 --seed 42 --out /tmp/stackgan-stage2-cub-2.jpg --device cpu
    cp /tmp/stackgan-stage2-cub-2-stages.jpg docs/images/stackgan-stage2-cub-2-stages.jpg
  fi
  if [ -f "$stage2_shipped" ] && [ -d runs/damsm-cub-species ] && [ -d data/cub ]; then
    cai export --model "$stage2_shipped" --out models/stackgan-cub.safetensors --fp16
    cai sample --model models/stackgan-cub.safetensors "${bird_captions[@]}" --n 2 --seed 42 --out /tmp/stackgan-cub-2.jpg --device cpu
    cp /tmp/stackgan-cub-2-stages.jpg docs/images/stackgan-cub-2-stages.jpg
    for side in 64 256; do
      bird_eval models/stackgan-cub.safetensors stackgan-cub-2 test "$side"
    done
  fi
fi
# WGAN-CLS (issue 19): the run at 5 critic batches per generator step (stopped at step 1,456, not
# shipped: results.md) and the one at 1 (stopped at step 4,233): records, R-precision curves, and the
# sample grids results.md shows.
for ws in wgan-cls-cub-2:1430 wgan-cls-cub-3:4233; do
  run=${ws%%:*} step=${ws#*:}
  if [ -d "runs/$run" ]; then
    cai results --summarize "runs/$run"
    to_jpeg "runs/$run/samples/step-$(printf %08d "$step").png" "docs/images/$run-$step.jpg" 88
  fi
done
if all_dirs runs/wgan-cls-cub-2 runs/wgan-cls-cub-3; then
  cai plot --runs runs/wgan-cls-cub-2,runs/wgan-cls-cub-3 --keys eval/rprec --x images --out docs/images/wgan-cls-cub-2-rprec.png
fi
# The same without DiffAugment (wgan-cls-cub-4): its record, and step 3,850 of both side by side.
if all_dirs runs/wgan-cls-cub-3 runs/wgan-cls-cub-4; then
  cai results --summarize runs/wgan-cls-cub-4
  side_by_side runs/wgan-cls-cub-3/samples/step-00003850.png runs/wgan-cls-cub-4/samples/step-00003850.png \
    docs/images/wgan-cls-cub-augment-ablation.jpg 400
fi
# StackGAN++ grown on the H200 (scripts/gpu-chains.sh with configs/gpu/stackgan-pp-cub.plan; the
# exports and logs as they came back, in runs/gpu-1): both generators per stage on the test protocol,
# and their stages for the fixed captions.
for m in official:stackgan-pp-256 half:stackgan-pp-half-256; do
  f=runs/gpu-1/${m#*:}.safetensors
  if [ -f "$f" ] && [ -d runs/damsm-cub-species ] && [ -d data/cub ]; then
    for side in 64 256; do
      bird_eval "$f" "stackgan-pp-h200-1-${m%%:*}" test "$side"
    done
    # The first two captions: 8 rows of 64, 128 and 256 px side by side.
    cai sample --model "$f" "${bird_captions[@]:0:4}" --n 4 --out "/tmp/${m#*:}.png" --device cpu
    node -e "require('sharp')(process.argv[1]).resize({ width: 388 }).jpeg({ quality: 85 }).toFile(process.argv[2])" \
      "/tmp/${m#*:}-stages.png" "docs/images/stackgan-pp-h200-1-${m%%:*}-stages.jpg"
  fi
done
# The seed's batch-size finding at equal updates (issue 19): StackGAN Stage I, batch 16 and 64, 2,000 steps each.
for b in 16 64; do
  run="stackgan-stage1-cub-updates-b$b"
  if all_dirs "runs/$run" runs/damsm-cub-species data/cub; then
    cai results --summarize "runs/$run" --out "docs/results/runs/$run.json"
    bird_eval "runs/$run" "$run"
    cai sample --model "runs/$run" "${bird_captions[@]}" --n 8 --seed 42 --out "docs/images/$run.png" --device cpu
  fi
done
if [ -f models/gan-int-cls-cub.safetensors ] && [ -d data/cub ] && [ -d runs/damsm-cub ]; then
  cai eval --model models/gan-int-cls-cub.safetensors --dataset data/cub --split test --reference val --metrics fid,kid,div,rprec --n 1000 --json docs/results/gan-int-cls-cub-eval.json --device cpu
  cai eval --model models/gan-int-cls-cub.safetensors --dataset data/cub --split val,test --reference train --metrics fid,kid,div,rprec --n 1000 --json docs/results/gan-int-cls-cub-eval-valtest.json --device cpu
fi
for run in stackgan-stage1-cub stackgan-stage1-cub-b16; do
  if all_dirs "runs/$run" data/cub runs/damsm-cub; then
    cai eval --model "runs/$run" --dataset data/cub --split test --reference val --metrics fid,kid,div,rprec --n 1000 --json "docs/results/$run-eval.json" --device cpu
  fi
done
if all_dirs data/cub runs/damsm-cub; then
  for side in 64 256; do
    cai eval --model "$stackgan_first" --stage "$side" --dataset data/cub --split test --reference val --metrics fid,kid,div,rprec --n 1000 --json "docs/results/stackgan-cub-eval-$side.json" --device cpu
  done
fi
if all_dirs runs/wgan-cls-cub data/cub runs/damsm-cub; then
  cai sample --model runs/wgan-cls-cub "${bird_captions[@]}" --n 8 --seed 42 --out docs/images/wgan-cls-cub.png --device cpu
  cai plot --run runs/wgan-cls-cub --keys loss/D,loss/G --smooth 0.6 --out docs/images/wgan-cls-cub-loss.png
  cai eval --model runs/wgan-cls-cub --dataset data/cub --split test --reference val --metrics fid,kid,div,rprec --n 1000 --json docs/results/wgan-cls-cub-eval.json --device cpu
fi
# After runs/ was lost a third time (2026-12-04, evening): the committed encoders score the birds from
# here on (docs/evaluation.md): the real held-out birds, the shipped files beside the runs that go on
# from them, and those runs' kept checkpoints: runs/dfgan-cub-7 (64 px, the shipped file toward 1 M
# images) and runs/dfgan-cub-128 (grown to 128 px from the shipped file).
if [ -f assets/damsm-cub-species.safetensors ] && [ -d data/cub ]; then
  bird_damsm=assets/damsm-cub-species.safetensors
  mkdir -p runs
  cai eval --damsm "$bird_damsm" --dataset data/cub --split test --json docs/results/damsm-cub-species-committed-real.json --device cpu
  cai eval --damsm "$bird_damsm" --dataset data/cub --split val --json docs/results/damsm-cub-species-committed-real-val.json --device cpu
  git show 007683f:models/dfgan-cub.safetensors >runs/dfgan-cub-6-23000-shipped.safetensors
  bird_eval runs/dfgan-cub-6-23000-shipped.safetensors dfgan-cub-6-23000-committed
  bird_eval runs/dfgan-cub-6-23000-shipped.safetensors dfgan-cub-6-23000-committed val
  git show 007683f:models/stackgan-cub.safetensors >runs/stackgan-cub-2-shipped.safetensors
  for side in 64 256; do
    bird_eval runs/stackgan-cub-2-shipped.safetensors stackgan-cub-2-committed test "$side"
  done
  # The StackGAN shipped when issue 19 was filed ("today's StackGAN", its target), on the same scale.
  git show 0161c88:models/stackgan-cub.safetensors >runs/stackgan-cub-1-shipped.safetensors
  for side in 64 256; do
    bird_eval runs/stackgan-cub-1-shipped.safetensors stackgan-cub-1-committed test "$side"
  done
  for run in dfgan-cub-7 dfgan-cub-128 dfgan-cub-128-2 dfgan-cub-256; do
    for ck in runs/$run/checkpoints/step-*.safetensors; do
      [ -f "$ck" ] || continue
      step=$(checkpoint_step "$ck")
      # Every 1,000th step; from 6,500 on the 1 M-image run's end-of-run pick read every 500th and the last;
      # the regrown 128 px run's step 1,750, read against the 64 px file once its FID levelled off, and
      # its step 3,750 after 1,000 steps at a quarter of the rates (the lowest FID at level R-precision),
      # and the 256 px stage grown from that step, at its step 200.
      if ((step % 1000 == 0)) || { [ "$run" = dfgan-cub-7 ] && ((step >= 6500 && (step % 500 == 0 || step == 8250))); } ||
        { [ "$run" = dfgan-cub-128-2 ] && ((step == 1750 || step == 3750)); } ||
        { [ "$run" = dfgan-cub-256 ] && ((step == 200)); }; then
        bird_eval "$ck" "$run-$step" val
      fi
    done
  done
  # The end-of-run pick of dfgan-cub-7 (docs/results.md, "The 1 M-image run's end"): step 5,000, within
  # one spread of the file it went on from on validation R-precision and ahead on FID and KID.
  dfgan_shipped=runs/dfgan-cub-7/checkpoints/step-00005000.safetensors
  if [ -f "$dfgan_shipped" ]; then
    cai export --model "$dfgan_shipped" --out models/dfgan-cub.safetensors --fp16 --discriminator
    cai sample --model models/dfgan-cub.safetensors "${bird_captions[@]}" --n 8 --seed 42 --out docs/images/dfgan-cub.png --device cpu
    bird_eval models/dfgan-cub.safetensors dfgan-cub-7-5000
  fi
  # WGAN-CLS rerun (issue 19; the config as wgan-cls-cub-4 trained: no DiffAugment, one critic batch
  # per generator step), shipped at its best checkpoint by in-training R-precision (1,000 val captions).
  wgan_shipped=runs/wgan-cls-cub-5/checkpoints/step-00011000.safetensors
  if [ -f "$wgan_shipped" ]; then
    cai results --summarize runs/wgan-cls-cub-5
    cai plot --runs docs/results/runs/wgan-cls-cub-4.json,runs/wgan-cls-cub-5 --keys eval/rprec --x images --out docs/images/wgan-cls-cub-5-rprec.png
    cai export --model "$wgan_shipped" --out models/wgan-cls-cub.safetensors --fp16
    cai sample --model models/wgan-cls-cub.safetensors "${bird_captions[@]}" --n 8 --seed 42 --out /tmp/wgan-cls-cub-5.png --device cpu
    to_jpeg /tmp/wgan-cls-cub-5.png docs/images/wgan-cls-cub-5.jpg 85
    bird_eval models/wgan-cls-cub.safetensors wgan-cls-cub-5
  fi
  # StackGAN++ and AttnGAN on the CPU, grown stage by stage: each stage's record. After runs/ was lost
  # a fourth time (2026-12-05, evening): StackGAN++'s 256 px tree on from its shipped file with fresh
  # discriminators (init.from), every stage training and the lower two held (grow.frozenStages), the
  # seed-1 DAMSM pair retrained (stopped at step 538: not the same encoders), an image encoder fitted
  # to the text encoder in AttnGAN's file (damsm.text), and AttnGAN's 256 px stage grown with it.
  for run in stackgan-pp-cub-64 stackgan-pp-cub-128 stackgan-pp-cub-256 attngan-cub-64 attngan-cub-64-s1 attngan-cub-64-s1-l1 attngan-cub-64-s1-l01 attngan-cub-128 \
    stackgan-pp-cub-256-2 stackgan-pp-cub-256-3 attngan-cub-256 damsm-cub-species-s1-rerun damsm-attngan-cub-fitted; do
    if [ -d "runs/$run" ]; then
      cai results --summarize "runs/$run"
    fi
  done
  # The fitted pair on the real held-out birds (beside the seed-1 pair's figure).
  if [ -d runs/damsm-attngan-cub-fitted ]; then
    cai eval --damsm runs/damsm-attngan-cub-fitted --dataset data/cub --split test --json docs/results/damsm-attngan-cub-fitted-real.json --device cpu
  fi
  # StackGAN++'s 64 px tree again with the uncaptioned birds of cub-extra in u_r (extra.cache), the
  # config otherwise the first run's: R-precision against steps, and both runs' samples at step 4,900.
  if all_dirs runs/stackgan-pp-cub-64 runs/stackgan-pp-cub-64-extra; then
    cai results --summarize runs/stackgan-pp-cub-64-extra
    cai plot --runs docs/results/runs/stackgan-pp-cub-64.json,docs/results/runs/stackgan-pp-cub-64-extra.json \
      --keys eval/rprec --x step --out docs/images/stackgan-pp-cub-64-extra-rprec.png
    side_by_side runs/stackgan-pp-cub-64/samples/step-00004900.png runs/stackgan-pp-cub-64-extra/samples/step-00004900.png \
      docs/images/stackgan-pp-cub-64-extra-4900.jpg 600
  fi
  # A second DAMSM pair, the same recipe with seed 1 (runs/damsm-cub-species-s1): the real birds through
  # it, then the first AttnGAN (trained against the scoring pair, stopped at step 3,666), StackGAN++'s
  # 64 px tree and the shipped DF-GAN scored through both pairs: how far the scoring pair's R-precision
  # of a generator trained against it is from the same generator's through a pair it never saw.
  if all_dirs runs/damsm-cub-species-s1 runs/attngan-cub-64 runs/stackgan-pp-cub-64; then
    cai results --summarize runs/damsm-cub-species-s1
    cai eval --damsm runs/damsm-cub-species-s1 --dataset data/cub --split test --json docs/results/damsm-cub-species-s1-real.json --device cpu
    attn_first=runs/attngan-cub-64/checkpoints/step-00003510.safetensors
    pp_64=runs/stackgan-pp-cub-64/checkpoints/step-00014700.safetensors
    bird_eval "$attn_first" attngan-cub-64-3510
    bird_eval "$pp_64" stackgan-pp-cub-64-14700
    (
      bird_damsm=runs/damsm-cub-species-s1
      bird_eval "$attn_first" attngan-cub-64-3510-s1
      bird_eval "$pp_64" stackgan-pp-cub-64-14700-s1
      bird_eval models/dfgan-cub.safetensors dfgan-cub-7-5000-s1
    )
  fi
  # AttnGAN trained with the seed-1 pair and scored with the other: λ = 5, 1 and 0.1 at step 1,170,
  # λ = 1 and 0.1 at 2,340, and λ = 0.1 at 7,020 and at the candidates of its end-of-floor pick (the
  # best by in-training R-precision, 11,700; the last two checkpoints).
  for ck in attngan-cub-64-s1/checkpoints/step-00001170 attngan-cub-64-s1-l1/checkpoints/step-00001170 \
    attngan-cub-64-s1-l1/checkpoints/step-00002340 attngan-cub-64-s1-l01/checkpoints/step-00001170 \
    attngan-cub-64-s1-l01/checkpoints/step-00002340 attngan-cub-64-s1-l01/checkpoints/step-00007020 \
    attngan-cub-64-s1-l01/checkpoints/step-00011700 attngan-cub-64-s1-l01/checkpoints/step-00016380 \
    attngan-cub-64-s1-l01/checkpoints/step-00017550; do
    if [ -f "runs/$ck.safetensors" ]; then
      bird_eval "runs/$ck.safetensors" "${ck%%/*}-$(checkpoint_step "runs/$ck.safetensors")"
    fi
  done
  # λ = 1 and λ = 0.1 at step 2,340, the same captions and noise.
  if all_dirs runs/attngan-cub-64-s1-l1 runs/attngan-cub-64-s1-l01; then
    side_by_side runs/attngan-cub-64-s1-l1/samples/step-00002340.png runs/attngan-cub-64-s1-l01/samples/step-00002340.png \
      docs/images/attngan-cub-64-s1-lambda-2340.jpg 500
  fi
  # AttnGAN's 64 px tree, shipped until its 128 px stage was: the end of the 150 epochs, within one
  # spread of the in-training best on R-precision and ahead of it on FID and KID (docs/results.md).
  attn_64=runs/attngan-cub-64-s1-l01/checkpoints/step-00017550.safetensors
  if [ -f "$attn_64" ]; then
    cai export --model "$attn_64" --out /tmp/attngan-cub-64-tree.safetensors --fp16
    cai sample --model /tmp/attngan-cub-64-tree.safetensors "${bird_captions[@]}" --n 8 --seed 42 --out /tmp/attngan-cub.png --device cpu
    to_jpeg /tmp/attngan-cub.png docs/images/attngan-cub.jpg 88
    bird_eval /tmp/attngan-cub-64-tree.safetensors attngan-cub-64-s1-l01-17550-shipped
  fi
  # AttnGAN's 128 px (first attentional) stage grown from that file: both stages of the two in-training
  # checkpoints on the test protocol; the later one, ahead by more than a spread at 128 px, is shipped,
  # with its samples and the word-attention maps of the seed's caption (first 4 images).
  if [ -d runs/attngan-cub-128 ]; then
    for step in 00001170 00002340; do
      for side in 128 64; do
        bird_eval "runs/attngan-cub-128/checkpoints/step-$step.safetensors" "attngan-cub-128-$((10#$step))" test "$side"
      done
    done
    ship_tree runs/attngan-cub-128/checkpoints/step-00002340.safetensors models/attngan-cub.safetensors attngan-cub-128-2340 8 128 64
    to_jpeg /tmp/attngan-cub-128-2340-128.png docs/images/attngan-cub-128.jpg 88
    # The seed's caption (bird_captions[1]; [0] is --text): the first 4 images, its words.
    attention_rows /tmp/attngan-cub-128-2340-attention-128.png docs/images/attngan-cub-attention.jpg 128 4 "$(wc -w <<<"${bird_captions[1]}")"
  fi
  # Its 256 px stage, grown from the 128 px file with the two lower stages held (their batch-norm
  # statistics still move): the checkpoint of its first interval at 256 px, then shipped, every stage
  # scored, with its samples and the word-attention maps of the seed's caption (first 2 images).
  if [ -d runs/attngan-cub-256 ]; then
    bird_eval runs/attngan-cub-256/checkpoints/step-00000585.safetensors attngan-cub-256-585 test 256
    ship_tree runs/attngan-cub-256/checkpoints/step-00000585.safetensors models/attngan-cub.safetensors attngan-cub-256-585 8 256 128 64
    to_jpeg /tmp/attngan-cub-256-585-256.png docs/images/attngan-cub-256.jpg 85
    attention_rows /tmp/attngan-cub-256-585-attention-256.png docs/images/attngan-cub-attention-256.jpg 256 2 "$(wc -w <<<"${bird_captions[1]}")"
    # Its second interval (step 1,170) against the first: the top of each in-training sample grid.
    if [ -f runs/attngan-cub-256/samples/step-00001170.png ]; then
      top_square runs/attngan-cub-256/samples/step-00000585.png /tmp/attngan-cub-256-585-top.jpg
      top_square runs/attngan-cub-256/samples/step-00001170.png /tmp/attngan-cub-256-1170-top.jpg
      side_by_side /tmp/attngan-cub-256-585-top.jpg /tmp/attngan-cub-256-1170-top.jpg docs/images/attngan-cub-256-585-1170.jpg 700
    fi
  fi
  # WGAN-CLS + Stage II (issue 19) on that generator: the paper's losses (runs/wgan-cls-stage2-cub-1)
  # beside the low-resolution consistency term at three weights (loss.consistency=10, 50 and 200:
  # runs/wgan-cls-stage2-cub-c10, -c50, -c200), R-precision against images seen, and the first two at
  # step 720 with the same captions and noise (each caption's 64 px image beside its 256 px one).
  stage2_runs=(runs/wgan-cls-stage2-cub-1 runs/wgan-cls-stage2-cub-c10 runs/wgan-cls-stage2-cub-c50 runs/wgan-cls-stage2-cub-c200)
  if all_dirs "${stage2_runs[@]}"; then
    for run in "${stage2_runs[@]}"; do
      cai results --summarize "$run"
    done
    cai plot --runs "$(IFS=,; echo "${stage2_runs[*]}")" --keys eval/rprec --x images --out docs/images/wgan-cls-stage2-rprec.png
    for run in "${stage2_runs[@]:0:2}"; do
      cai sample --model "$run/checkpoints/step-00000720.safetensors" "${bird_captions[@]}" --n 2 --seed 42 --out "/tmp/${run#runs/}-720.jpg" --device cpu
    done
    side_by_side /tmp/wgan-cls-stage2-cub-1-720-stages.jpg /tmp/wgan-cls-stage2-cub-c10-720-stages.jpg \
      docs/images/wgan-cls-stage2-720.jpg 1200
    # lambda_c = 50 at its best checkpoint, scored per stage (not shipped).
    for side in 64 256; do
      bird_eval runs/wgan-cls-stage2-cub-c50/checkpoints/step-00000720.safetensors wgan-cls-stage2-cub-c50-720 test "$side"
    done
  fi
  # Shipped: lambda_c = 200 at its best checkpoint by in-training R-precision (step 720), one file with
  # its Stage I, scored per stage; the stage picture holds the fixed captions.
  stage2_shipped=runs/wgan-cls-stage2-cub-c200/checkpoints/step-00000720.safetensors
  if [ -f "$stage2_shipped" ]; then
    cai export --model "$stage2_shipped" --out models/wgan-cls-stage2-cub.safetensors --fp16
    cai sample --model models/wgan-cls-stage2-cub.safetensors "${bird_captions[@]}" --n 2 --seed 42 --out /tmp/wgan-cls-stage2-cub.jpg --device cpu
    cp /tmp/wgan-cls-stage2-cub-stages.jpg docs/images/wgan-cls-stage2-cub-stages.jpg
    for side in 64 256; do
      bird_eval models/wgan-cls-stage2-cub.safetensors wgan-cls-stage2-cub-c200 test "$side"
    done
  fi
  # lambda_c = 1000 on the shipped WGAN-CLS file (stopped at step 222: the pooled image no closer to
  # s0 than at 200), and StackGAN's Stage II again on the Stage I inside models/stackgan-cub.safetensors
  # with lambda_c = 200 (2026-12-05, late): records and R-precision against images seen.
  for run in wgan-cls-stage2-cub-c1000 stackgan-stage2-cub-c200; do
    if [ -d "runs/$run" ]; then
      cai results --summarize "runs/$run"
    fi
  done
  if [ -d runs/stackgan-stage2-cub-c200 ]; then
    cai plot --runs docs/results/runs/stackgan-stage2-cub-2.json,runs/stackgan-stage2-cub-c200 --keys eval/rprec --x images --out docs/images/stackgan-stage2-c200-rprec.png
  fi
  # Shipped: that Stage II at its best in-training checkpoint (step 540), one fp16 file with its Stage I
  # (the run read it from models/stackgan-cub.safetensors as committed in 2b45fe3), scored per stage.
  sg_c200=runs/stackgan-stage2-cub-c200/checkpoints/step-00000540.safetensors
  if [ -f "$sg_c200" ]; then
    bird_eval "$sg_c200" stackgan-stage2-cub-c200-540 test 256
    cai export --model "$sg_c200" --out models/stackgan-cub.safetensors --fp16
    cai sample --model models/stackgan-cub.safetensors "${bird_captions[@]}" --n 2 --seed 42 --out /tmp/stackgan-cub-c200.jpg --device cpu
    cp /tmp/stackgan-cub-c200-stages.jpg docs/images/stackgan-cub-c200-stages.jpg
    for side in 64 256; do
      bird_eval models/stackgan-cub.safetensors stackgan-cub-c200 test "$side"
    done
  fi
  # generator.imageSkip on the shipped WGAN-CLS file and on StackGAN's Stage I (lambda_c = 200), and
  # from their checkpoints (steps 783 and 372; each copied into a new run folder) a lower hold
  # (lambda_c = 10), a colour hold (lambda_C = 50 with lambda_c = 10) and detail only (lambda_c = 0):
  # their records (2026-12-06).
  for run in wgan-cls-stage2-cub-skip stackgan-stage2-cub-skip wgan-cls-stage2-cub-skip-c10 stackgan-stage2-cub-skip-c10 \
    stackgan-stage2-cub-skip-color wgan-cls-stage2-cub-skip-detail stackgan-stage2-cub-skip-detail dfgan-cub-256; do
    if [ -d "runs/$run" ]; then
      cai results --summarize "runs/$run"
    fi
  done
  # Each model's candidates on the test protocol at 256 px: the skip at lambda_c = 200 (StackGAN step 360,
  # WGAN-CLS step 540: their best in-training R-precision) and detail only (steps 540 and 900).
  for ck in runs/stackgan-stage2-cub-skip/checkpoints/step-00000360.safetensors \
    runs/stackgan-stage2-cub-skip-detail/checkpoints/step-00000540.safetensors \
    runs/wgan-cls-stage2-cub-skip/checkpoints/step-00000540.safetensors \
    runs/wgan-cls-stage2-cub-skip-detail/checkpoints/step-00000900.safetensors; do
    if [ -f "$ck" ]; then
      run=$(basename "$(dirname "$(dirname "$ck")")")
      bird_eval "$ck" "$run-$(checkpoint_step "$ck")" test 256
    fi
  done
  # Shipped (2026-12-06): the skip at lambda_c = 200 for both Stage-II models, one fp16 file each with
  # its Stage I, scored per stage, with samples of every stage.
  sg_skip=runs/stackgan-stage2-cub-skip/checkpoints/step-00000360.safetensors
  wg_skip=runs/wgan-cls-stage2-cub-skip/checkpoints/step-00000540.safetensors
  if [ -f "$sg_skip" ] && [ -f "$wg_skip" ]; then
    cai export --model "$sg_skip" --out models/stackgan-cub.safetensors --fp16
    cai export --model "$wg_skip" --out models/wgan-cls-stage2-cub.safetensors --fp16
    cai sample --model models/stackgan-cub.safetensors "${bird_captions[@]}" --n 2 --seed 42 --out /tmp/stackgan-cub-skip.jpg --device cpu
    cai sample --model models/wgan-cls-stage2-cub.safetensors "${bird_captions[@]}" --n 2 --seed 42 --out /tmp/wgan-cls-stage2-cub-skip.jpg --device cpu
    cp /tmp/stackgan-cub-skip-stages.jpg docs/images/stackgan-cub-skip-stages.jpg
    cp /tmp/wgan-cls-stage2-cub-skip-stages.jpg docs/images/wgan-cls-stage2-cub-skip-stages.jpg
    for side in 64 256; do
      bird_eval models/stackgan-cub.safetensors stackgan-cub-skip test "$side"
      bird_eval models/wgan-cls-stage2-cub.safetensors wgan-cls-stage2-cub-skip test "$side"
    done
  fi
  # StackGAN++ grown to 128 px: three checkpoints of its 128 px stage on the test protocol (R-precision
  # fell from step 1,960 on, so the stage stopped after step 3,920), and the one shipped until the
  # 256 px stage is grown (step 2,940: the lowest FID and KID of the three), one file with both stages,
  # scored per stage.
  for ck in runs/stackgan-pp-cub-128/checkpoints/step-0000{1960,2940,3920}.safetensors; do
    if [ -f "$ck" ]; then
      bird_eval "$ck" "stackgan-pp-cub-128-$(checkpoint_step "$ck")" test 128
    fi
  done
  pp_128=runs/stackgan-pp-cub-128/checkpoints/step-00002940.safetensors
  if [ -f "$pp_128" ]; then
    ship_tree "$pp_128" /tmp/stackgan-pp-cub-128-file.safetensors stackgan-pp-cub-128-2940 4 64 128
    to_jpeg /tmp/stackgan-pp-cub-128-2940-128.png docs/images/stackgan-pp-cub.jpg 85
  fi
  # StackGAN++'s 256 px stage after its second interval, its 64 and 256 px stages on the test protocol;
  # ahead of the 128 px file's top stage by two spreads, it is shipped (each stage scored, samples).
  pp_256=runs/stackgan-pp-cub-256/checkpoints/step-00001960.safetensors
  if [ -f "$pp_256" ]; then
    for side in 64 256; do
      bird_eval "$pp_256" stackgan-pp-cub-256-1960 test "$side"
    done
    ship_tree "$pp_256" models/stackgan-pp-cub.safetensors stackgan-pp-cub-256-1960 4 64 128 256
    to_jpeg /tmp/stackgan-pp-cub-256-1960-256.png docs/images/stackgan-pp-cub-256.jpg 80
  fi
  # DF-GAN + Stage II (issue 18's refiner): StackGAN's Stage II on the frozen, shipped 64 px DF-GAN with
  # the consistency term WGAN-CLS + Stage II kept (loss.consistency=200): its record and R-precision.
  if [ -d runs/dfgan-stage2-cub ]; then
    cai results --summarize runs/dfgan-stage2-cub
    # The first two captions of step 720's grid: Stage-I rows above their Stage-II rows.
    top_square runs/dfgan-stage2-cub/samples/step-00000720.png docs/images/dfgan-stage2-cub-720.jpg
  fi
  # Grow or refine (issue 18): both paths at about one CPU-hour from the shipped 64 px file.
  if [ -f runs/dfgan-stage2-cub/checkpoints/step-00000720.safetensors ] && [ -f runs/dfgan-cub-128/checkpoints/step-00000750.safetensors ]; then
    bird_eval runs/dfgan-stage2-cub/checkpoints/step-00000720.safetensors dfgan-stage2-cub-720 val
    bird_eval runs/dfgan-cub-128/checkpoints/step-00000750.safetensors dfgan-cub-128-750 val
  fi
  if [ -f runs/dfgan-cub-128/checkpoints/step-00001000.safetensors ]; then
    cai sample --model runs/dfgan-cub-128/checkpoints/step-00001000.safetensors "${bird_captions[@]}" --n 8 --seed 42 --out /tmp/dfgan-cub-128-1000.png --device cpu
    to_jpeg /tmp/dfgan-cub-128-1000.png docs/images/dfgan-cub-128-1000.jpg 85
  fi
fi
# DF-GAN's 256 px stage (issue 18), on from step 329 to the step below (2026-12-06, morning): its
# record, the last checkpoint on validation (beside step 200's) and on the test protocol, and shipped
# as a second DF-GAN file beside the 64 px default (behind it on R-precision; it draws at 256 px).
df_256=runs/dfgan-cub-256/checkpoints/step-00001040.safetensors
if [ -f "$df_256" ]; then
  cai results --summarize runs/dfgan-cub-256
  bird_eval "$df_256" dfgan-cub-256-1040 val
  bird_eval "$df_256" dfgan-cub-256-1040
  cai export --model "$df_256" --out models/dfgan-cub-256.safetensors --fp16
  cai sample --model models/dfgan-cub-256.safetensors "${bird_captions[@]}" --n 4 --seed 42 --out /tmp/dfgan-cub-256.png --device cpu
  to_jpeg /tmp/dfgan-cub-256.png docs/images/dfgan-cub-256.jpg 85
fi
# The whole DF-GAN path, 64 -> 128 -> 256 px, against images seen, from the three runs' records.
for key in rprec fid; do
  cai plot --runs docs/results/runs/dfgan-cub-7.json,docs/results/runs/dfgan-cub-128-2.json,docs/results/runs/dfgan-cub-256.json \
    --keys "eval/$key" --x images --title "DF-GAN 64 → 128 → 256 px: eval/$key against images seen" --out "docs/images/dfgan-cub-path-$key.png"
done
# StackGAN++'s held run (the 64 and 128 px stages held) on to the stop rule (2026-12-06, later): its
# record, and its best checkpoint by R-precision (step 1,200) exported and each stage of the file
# scored; shipped that day, replaced by the colour-term run's file below.
pp_held=runs/stackgan-pp-cub-256-3/checkpoints/step-00001200.safetensors
if [ -f "$pp_held" ]; then
  cai results --summarize runs/stackgan-pp-cub-256-3
  cai export --model "$pp_held" --out /tmp/pp-1200.safetensors --fp16
  for side in 64 128 256; do
    bird_eval /tmp/pp-1200.safetensors stackgan-pp-cub-256-3-1200-fp16 test "$side"
  done
  cai sample --model /tmp/pp-1200.safetensors "${bird_captions[@]}" --n 4 --seed 42 --out /tmp/stackgan-pp-cub-256-3-1200.png --device cpu
fi
# StackGAN++'s 256 px stage again from the step-1,200 file, with the paper's colour-consistency term
# (loss.colorConsistency=50), to the stop rule (2026-12-06, noon): its record; steps 900 and 1,500
# exported and every stage scored; step 900 shipped (the evaluations read the export in /tmp, the
# same bytes as models/).
pp_colour=runs/stackgan-pp-cub-256-4/checkpoints
if [ -d "$pp_colour" ]; then
  cai results --summarize runs/stackgan-pp-cub-256-4
  for step in 900 1500; do
    cai export --model "$pp_colour/step-$(printf %08d "$step").safetensors" --out "/tmp/pp4-$step.safetensors" --fp16
    for side in 64 128 256; do
      bird_eval "/tmp/pp4-$step.safetensors" "stackgan-pp-cub-256-4-$step-fp16" test "$side"
    done
  done
fi
# Stage II's hold between the 128 and 256 px stages (loss.consistency=200, new for StackGAN++), from
# the colour-term run's step 900 (its checkpoint, best.json and metrics to that step copied into
# runs/stackgan-pp-cub-256-5, then `creativeai train --resume runs/stackgan-pp-cub-256-5 --set
# loss.consistency=200`), to the stop rule: its record; steps 1,500, 1,800 and 2,100 scored; step
# 2,100 shipped (the export, the same bytes as models/).
pp_hold=runs/stackgan-pp-cub-256-5/checkpoints
if [ -d "$pp_hold" ]; then
  cai results --summarize runs/stackgan-pp-cub-256-5
  for step in 1500 1800 2100; do
    cai export --model "$pp_hold/step-$(printf %08d "$step").safetensors" --out "/tmp/pp5-$step.safetensors" --fp16
    for side in 64 256; do
      bird_eval "/tmp/pp5-$step.safetensors" "stackgan-pp-cub-256-5-$step-fp16" test "$side"
    done
  done
  bird_eval /tmp/pp5-2100.safetensors stackgan-pp-cub-256-5-2100-fp16 test 128
  cp /tmp/pp5-2100.safetensors models/stackgan-pp-cub.safetensors
  cai sample --model models/stackgan-pp-cub.safetensors "${bird_captions[@]}" --n 4 --seed 42 --out /tmp/stackgan-pp-cub-256-5-2100.png --device cpu
  to_jpeg /tmp/stackgan-pp-cub-256-5-2100-256.png docs/images/stackgan-pp-cub-256.jpg 80
fi
# The 256 px stage against the 64 px stage of one file, split by split (the splits share captions and
# noise across stages): the mean and spread of the per-split differences, and how many are below 0.
split_gap() {
  node -e '
    const [name, ...files] = process.argv.slice(1);
    const [a, b] = files.map((f) => require(require("path").resolve(f)).rprec.splits);
    const d = a.map((x, i) => 100 * (b[i] - x));
    const m = d.reduce((s, x) => s + x, 0) / d.length;
    const sd = Math.sqrt(d.reduce((s, x) => s + (x - m) ** 2, 0) / d.length);
    console.log(`${name}: ${m.toFixed(2)} ± ${sd.toFixed(2)} points, ${d.filter((x) => x < 0).length} of ${d.length} splits below`);
  ' "$1" "docs/results/$1-eval-64.json" "docs/results/$1-eval-256.json"
}
for name in stackgan-pp-cub-256-1960-shipped stackgan-pp-cub-256-3-1200-fp16 stackgan-pp-cub-256-4-900-fp16 \
  stackgan-pp-cub-256-4-1500-fp16 stackgan-pp-cub-256-5-1500-fp16 stackgan-pp-cub-256-5-1800-fp16 stackgan-pp-cub-256-5-2100-fp16; do
  split_gap "$name"
done
# Detail above 64 px (eval --metrics detail, new): what the 256 px stages draw that the 64 px DAMSM
# cannot see, for the shipped files and for the Stage-II experiments' checkpoints (2026-12-06, later).
bird_detail() {
  cai eval --model "$1" --dataset data/cub --split test --metrics detail --n 1000 --json "docs/results/$2-detail-256.json" --device cpu
}
for m in stackgan-cub wgan-cls-stage2-cub stackgan-pp-cub attngan-cub dfgan-cub-256; do
  bird_detail "models/$m.safetensors" "$m"
done
# The StackGAN++ file it replaced (step 1,960), as committed before.
git show e70c45b:models/stackgan-pp-cub.safetensors >/tmp/stackgan-pp-cub-1960.safetensors
bird_detail /tmp/stackgan-pp-cub-1960.safetensors stackgan-pp-cub-256-1960-shipped
# StackGAN++'s held run at step 1,200, the checkpoint.
if [ -f "$pp_held" ]; then
  bird_detail "$pp_held" stackgan-pp-cub-256-3-1200
fi
# The colour-term run's step 900 (its export, above).
if [ -f /tmp/pp4-900.safetensors ]; then
  bird_detail /tmp/pp4-900.safetensors stackgan-pp-cub-256-4-900
fi
# Stage II: wider D (discriminator.width=32) and wider G with it (generator.width=64), each from the
# start on the shipped WGAN-CLS with the image skip and lambda_c = 200; detail only from the skip run's
# step 783 at lambda_c = 0 (stripes) and at lambda_c = 200.
for run in wgan-cls-stage2-cub-d32 wgan-cls-stage2-cub-g64 wgan-cls-stage2-cub-skip-detail-c200; do
  if [ -d "runs/$run" ]; then
    cai results --summarize "runs/$run"
  fi
done
for ck in runs/wgan-cls-stage2-cub-skip-detail/checkpoints/step-0000{0900,1440}.safetensors \
  runs/wgan-cls-stage2-cub-skip-detail-c200/checkpoints/step-00001080.safetensors \
  runs/wgan-cls-stage2-cub-d32/checkpoints/step-00000450.safetensors \
  runs/wgan-cls-stage2-cub-g64/checkpoints/step-00000090.safetensors; do
  if [ -f "$ck" ]; then
    run=$(basename "$(dirname "$(dirname "$ck")")")
    bird_detail "$ck" "$run-$(checkpoint_step "$ck")"
  fi
done
