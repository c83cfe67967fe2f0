#!/usr/bin/env bash
# The README's latent-space figure (docs/images/invert-edit.jpg): a held-out test-split face, its
# latent's image under its own tags, the same latent with blue hair and with green eyes, and
# truncated to ψ 0.5, side by side at twice their 64 px.
#   bash scripts/invert-figure.sh [face image]   (default: test face 10802, white hair red eyes)
set -euo pipefail
cd "$(dirname "$0")/.."
FACE=${1:-../shared/datasets/anime-faces/images/10802.jpg}
MODEL=models/tag-projection-anime.safetensors
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cai() { node dist/src/cli/index.js "$@"; }
cai invert --model "$MODEL" --image "$FACE" --text "white hair red eyes" --steps 100 --out "$T/latent.json" --preview "$T/pair.png"
cai sample --model "$MODEL" --latent "$T/latent.json" --text "blue hair red eyes" --text "white hair green eyes" --out "$T/edits.png"
cai sample --model "$MODEL" --latent "$T/latent.json" --text "white hair red eyes" --psi 0.5 --out "$T/psi.png"
node -e '
const sharp = require("sharp");
const [dir, out] = process.argv.slice(1);
(async () => {
  const parts = await Promise.all(["pair", "edits", "psi"].map(async (n) => {
    const img = sharp(`${dir}/${n}.png`);
    const { width, height } = await img.metadata();
    const w = Math.round((width * 128) / height);
    return { buf: await img.resize(w, 128, { kernel: "nearest" }).png().toBuffer(), w };
  }));
  const gap = 8;
  const width = parts.reduce((s, p) => s + p.w, 0) + gap * (parts.length - 1);
  let left = 0;
  const layers = parts.map((p) => { const l = { input: p.buf, left, top: 0 }; left += p.w + gap; return l; });
  await sharp({ create: { width, height: 128, channels: 3, background: "#ffffff" } }).composite(layers).jpeg({ quality: 90 }).toFile(out);
})();
' "$T" docs/images/invert-edit.jpg
echo "wrote docs/images/invert-edit.jpg"
