// The process's peak resident memory, as the memory benchmarks read it: Node reports maxRSS in KiB.
export function peakRssBytes(): number {
  return process.resourceUsage().maxRSS * 1024;
}
