# Reference for `npm run bench:engine`: the DCGAN training step of bench/engine.ts written in
# PyTorch itself, as a PyTorch user would write it for speed on this machine: fused Adam, autocast
# in bfloat16 and channels-last when asked, and the allocator setting the trainer uses (glibc keeps
# freed blocks: engine/cuda.ts retainFreedCpuMemory). bench/engine.ts runs it as a child process,
# alternating with the TypeScript side, in each precision and memory format.
#
# Usage: python3 bench/dcgan_ref.py [--device cpu|cuda] [--batch N] [--width N] [--warmup N]
#        [--steps N] [--threads N] [--seed N] [--precision fp32|bf16]
#        [--memory-format contiguous|channelsLast] [--malloc retain|system]
# Prints `py: ...` lines, `cpu-img/s <batch / CPU seconds per step>` and, last, `img/s <value>`.
import argparse
import ctypes
import resource
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

NZ = 100


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser()
    p.add_argument("--device", default="cpu")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--width", type=int, default=64)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    p.add_argument("--memory-format", choices=["contiguous", "channelsLast"], default="contiguous")
    p.add_argument("--malloc", choices=["retain", "system"], default="retain")
    p.add_argument("--cudnn-benchmark", default="1")
    return p.parse_args()


def retain_freed_memory() -> bool:
    """The trainer's glibc setting (native/tensor.cc RetainFreedCpuMemory): no mmap for large
    blocks, no trimming, so each step reuses the last step's pages instead of faulting new ones."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4
    return libc.mallopt(M_MMAP_MAX, 0) == 1 and libc.mallopt(M_TRIM_THRESHOLD, 2**31 - 1) == 1


def generator(ngf: int) -> nn.Sequential:
    ch = [NZ, ngf * 8, ngf * 4, ngf * 2, ngf, 3]
    layers: list[nn.Module] = []
    for i in range(5):
        first = i == 0
        layers.append(nn.ConvTranspose2d(ch[i], ch[i + 1], 4, 1 if first else 2, 0 if first else 1, bias=False))
        layers += [nn.BatchNorm2d(ch[i + 1]), nn.ReLU()] if i < 4 else [nn.Tanh()]
    return nn.Sequential(*layers)


def discriminator(ndf: int) -> nn.Sequential:
    ch = [3, ndf, ndf * 2, ndf * 4, ndf * 8, 1]
    layers: list[nn.Module] = []
    for i in range(5):
        last = i == 4
        layers.append(nn.Conv2d(ch[i], ch[i + 1], 4, 1 if last else 2, 0 if last else 1, bias=False))
        if 1 <= i <= 3:
            layers.append(nn.BatchNorm2d(ch[i + 1]))
        if not last:
            layers.append(nn.LeakyReLU(0.2))
    return nn.Sequential(*layers)


def dcgan_init(net: nn.Module) -> None:
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0, 0.02)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1, 0.02)
            nn.init.zeros_(m.bias)


def main() -> None:
    o = parse()
    retained = retain_freed_memory() if o.malloc == "retain" else False
    torch.set_num_threads(o.threads)
    dev = torch.device(o.device)
    gpu = dev.type == "cuda"
    if gpu:
        torch.backends.cudnn.benchmark = o.cudnn_benchmark != "0"
    torch.manual_seed(o.seed)
    fmt = torch.channels_last if o.memory_format == "channelsLast" else torch.contiguous_format
    # Initialised before the layout changes, as the TypeScript side does: normal_ fills a tensor in
    # memory order, so a channels-last weight would get other values at the same (o, i, h, w).
    G = generator(o.width).to(dev)
    D = discriminator(o.width).to(dev)
    dcgan_init(G)
    dcgan_init(D)
    G = G.to(memory_format=fmt)
    D = D.to(memory_format=fmt)
    fused = True
    try:
        optG = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999), fused=True)
        optD = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999), fused=True)
    except (RuntimeError, TypeError):
        fused = False
        optG = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999), foreach=True)
        optD = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999), foreach=True)
    B = o.batch
    real = (torch.rand(B, 3, 64, 64, device=dev) * 2 - 1).contiguous(memory_format=fmt)
    ones = torch.ones(B, 1, 1, 1, device=dev)
    zeros = torch.zeros(B, 1, 1, 1, device=dev)
    bf16 = o.precision == "bf16"

    def step(last: bool):
        z = torch.randn(B, NZ, 1, 1, device=dev)
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=bf16):
            fake = G(z)
            lossD = F.binary_cross_entropy_with_logits(D(real), ones) + F.binary_cross_entropy_with_logits(
                D(fake.detach()), zeros
            )
        optD.zero_grad(set_to_none=True)
        lossD.backward()
        optD.step()
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=bf16):
            lossG = F.binary_cross_entropy_with_logits(D(fake), ones)
        optG.zero_grad(set_to_none=True)
        lossG.backward()
        optG.step()
        return (lossD.item(), lossG.item()) if last else None

    # The first step's losses (same seed, weights and data on every side): bench/engine.ts compares them.
    first = None
    for i in range(o.warmup):
        r = step(i == 0)
        first = first or r
    if gpu:
        torch.cuda.synchronize()
    best = float("inf")
    c0 = time.process_time()
    f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    t0 = time.perf_counter()
    losses = (float("nan"), float("nan"))
    for i in range(o.steps):
        t = time.perf_counter()
        r = step(i == o.steps - 1 or first is None)
        first = first or r
        if r is not None and i == o.steps - 1:
            losses = r
        if not gpu:
            best = min(best, time.perf_counter() - t)
    if gpu:
        torch.cuda.synchronize()
    secs = time.perf_counter() - t0
    cpu_per_step = (time.process_time() - c0) / o.steps
    faults_per_step = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0) / o.steps
    img_per_s = B / (secs / o.steps if gpu else best)
    print(
        f"py: torch {torch.__version__}, device {o.device}, threads {torch.get_num_threads()}, batch {B}, "
        f"width {o.width}, warmup {o.warmup}, steps {o.steps}, {o.precision}, {o.memory_format}, "
        f"fused adam {'yes' if fused else 'no (foreach)'}, freed memory retained {'yes' if retained else 'no'}"
    )
    print(
        f"py: {1000 * secs / o.steps:.2f} ms/step mean"
        + ("" if gpu else f", {1000 * best:.2f} ms fastest")
        + f", {1000 * cpu_per_step:.2f} ms CPU time (all threads), {faults_per_step:.0f} page faults, lossD {losses[0]:.4f} lossG {losses[1]:.4f}"
    )
    print(f"losses first {first[0]:.6f} {first[1]:.6f} last {losses[0]:.6f} {losses[1]:.6f}")
    print(f"cpu-img/s {B / cpu_per_step:.3f}")
    print(f"img/s {img_per_s:.3f}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
