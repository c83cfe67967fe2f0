#!/usr/bin/env python3
"""Converts pytorch-fid's FID Inception-v3 weights to the safetensors file that
`creativeai eval --inception <file>` reads (docs/evaluation.md).

    pip install torch safetensors
    python3 scripts/convert-inception.py pt_inception-2015-12-05-6726825d.pth inception-fid.safetensors
"""
import hashlib
import json
import os
import sys

import torch
from safetensors.torch import save_file

if len(sys.argv) != 3:
    sys.exit(__doc__)
src, dst = sys.argv[1], sys.argv[2]

# torch.hub names files <name>-<first 8 hex digits of their SHA-256>.pth: a different file would
# give different FIDs, so say so (the network in src/models/inception-v3.ts expects this one).
with open(src, "rb") as f:
    digest = hashlib.sha256(f.read()).hexdigest()
if not digest.startswith("6726825d"):
    print(f"warning: {src} has SHA-256 {digest[:8]}…, not pytorch-fid's 6726825d…", file=sys.stderr)

state = torch.load(src, map_location="cpu", weights_only=True)
# BatchNorm's step counters are training state; safetensors stores contiguous tensors.
tensors = {k: v.float().contiguous() for k, v in state.items() if not k.endswith("num_batches_tracked")}
if len(tensors) != 472:
    print(f"warning: {len(tensors)} tensors, the FID Inception-v3 has 472", file=sys.stderr)
# The digest of the tensors as written (src/eval/inception.ts tensorsDigest): for each tensor in name
# order, its UTF-8 name, a NUL byte, then its float32 bytes (little-endian, as safetensors stores
# them). `creativeai eval` recomputes it and calls scores standard FID/KID/IS only when it matches
# and the source's SHA-256 starts with pytorch-fid's 6726825d.
save_file(tensors, dst)
with open(dst, "rb") as f:
    raw = f.read()
n = int.from_bytes(raw[:8], "little")
header = json.loads(raw[8 : 8 + n])
data = raw[8 + n :]
h = hashlib.sha256()
for name in sorted(k for k in header if k != "__metadata__"):
    begin, end = header[name]["data_offsets"]
    h.update(name.encode("utf-8") + b"\0" + data[begin:end])
save_file(tensors, dst, metadata={"source": os.path.basename(src), "sha256": digest, "tensors_sha256": h.hexdigest()})
print(f"{len(tensors)} tensors written to {dst}")
