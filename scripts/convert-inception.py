#!/usr/bin/env python3
"""Converts pytorch-fid's FID Inception-v3 weights to the safetensors file that
`creativeai eval --inception <file>` reads (docs/evaluation.md).

    pip install torch safetensors
    python3 scripts/convert-inception.py pt_inception-2015-12-05-6726825d.pth inception-fid.safetensors
"""
import hashlib
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
save_file(tensors, dst, metadata={"source": os.path.basename(src), "sha256": digest})
print(f"{len(tensors)} tensors written to {dst}")
