// What the CPU offers the kernels libtorch picks: native bfloat16 arithmetic (AVX512-BF16 dot
// products, or AMX tiles) is what makes bf16 autocast faster than float32 on the CPU; without it
// libtorch emulates bfloat16 with conversions and bf16 runs slower than fp32.
import fs from 'node:fs';
import os from 'node:os';

export interface CpuFeatures {
  model: string;
  /** The flags that matter here, as the kernel names them (avx2, avx512f, avx512_bf16, amx_bf16). */
  flags: string[];
  /** Native bfloat16: avx512_bf16 or amx_bf16. */
  bf16: boolean;
  /** Where the flags came from. */
  source: string;
}

const RELEVANT = ['avx2', 'fma', 'avx512f', 'avx512bw', 'avx512_vnni', 'avx512_bf16', 'amx_tile', 'amx_bf16'];

/** Reads /proc/cpuinfo-style text. */
export function parseCpuFeatures(cpuinfo: string, source: string): CpuFeatures {
  const flagLine = /^flags\s*:\s*(.*)$/m.exec(cpuinfo);
  const all = new Set((flagLine?.[1] ?? '').split(/\s+/).filter((f) => f.length > 0));
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown';
  const flags = RELEVANT.filter((f) => all.has(f));
  return { model, flags, bf16: all.has('avx512_bf16') || all.has('amx_bf16'), source };
}

let cached: CpuFeatures | undefined;

/** This machine's CPU features (Linux: /proc/cpuinfo; elsewhere none are known). */
export function cpuFeatures(): CpuFeatures {
  if (cached) return cached;
  try {
    cached = parseCpuFeatures(fs.readFileSync('/proc/cpuinfo', 'utf8'), '/proc/cpuinfo');
  } catch {
    cached = { model: os.cpus()[0]?.model ?? 'unknown', flags: [], bf16: false, source: 'unknown (no /proc/cpuinfo)' };
  }
  return cached;
}
