// Devices: 'cpu' or 'cuda[:N]', and their native codes (-1 is the CPU, N >= 0 is cuda:N).
export type Device = 'cpu' | 'cuda' | `cuda:${number}`;

export function deviceCode(d: Device | string): number {
  if (d === 'cpu') return -1;
  if (d === 'cuda') return 0;
  const m = /^cuda:(\d+)$/.exec(d);
  if (m) return Number(m[1]);
  throw new TypeError(`Expected a device ('cpu', 'cuda' or 'cuda:N') but received ${JSON.stringify(d)}`);
}

export function deviceName(code: number): Device {
  if (code === -1) return 'cpu';
  if (code >= 0) return `cuda:${code}`;
  throw new TypeError(`Unsupported native device code ${code}`);
}
