#!/usr/bin/env bash
# The device tool sends the working tree with every call (tracked files and untracked ones git does not
# ignore, 64 MiB in all with what `carry` names); the shipped models and docs/ alone are over 70 MB.
#   bash scripts/gpu-travel.sh slim      # before the call: models/ docs/ assets/ test/ src/ web/ bench/ native/ stay here
#   bash scripts/gpu-travel.sh restore   # after it
# slim takes those folders out of the index and ignores them through .git/info/exclude (the files stay
# on disk, untouched); restore puts the index back from HEAD and removes the exclude lines. Nothing a
# run on the GPU machine needs is in them: scripts/gpu-chains.sh reads configs/, scripts/ and .gpu/
# (pack-gpu.sh copies the compiled code and native/ there).
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
dirs=(models docs assets test src web bench native)
exclude=$(git rev-parse --git-path info/exclude)
mark='# gpu-travel.sh slim'
case "${1:-}" in
  slim)
    if ! git diff --cached --quiet -- "${dirs[@]}"; then
      echo "gpu-travel: staged changes under ${dirs[*]}: commit or unstage them first" >&2
      exit 1
    fi
    git rm -r -q --cached -- "${dirs[@]}"
    { echo "$mark: begin"; printf '/%s/\n' "${dirs[@]}"; echo "$mark: end"; } >>"$exclude"
    ;;
  restore)
    sed -i "/^$mark: begin\$/,/^$mark: end\$/d" "$exclude"
    git reset -q -- "${dirs[@]}"
    ;;
  *)
    echo "usage: bash scripts/gpu-travel.sh slim|restore" >&2
    exit 2
    ;;
esac
echo "gpu-travel: $1: $(git ls-files -z | xargs -0 cat | wc -c) bytes tracked, $(git ls-files -zo --exclude-standard | xargs -0 -r cat | wc -c) untracked"
