// The device that the device-dependent tests (test/integration/device.test.ts) run on: CREATIVEAI_DEVICE, cpu by
// default; the GPU routine (scripts/gpu-run.sh) sets cuda. Asking for a CUDA device that libtorch
// cannot see fails the run: the CUDA tier must not pass by skipping.
import { cuda, type Device } from '../../src/engine/index.js';

function testDevice(): Device {
  const d = process.env.CREATIVEAI_DEVICE ?? 'cpu';
  if (d === 'cpu') return 'cpu';
  const dev = d === 'cuda' ? 'cuda:0' : d;
  if (!/^cuda:\d+$/.test(dev)) throw new Error(`CREATIVEAI_DEVICE must be cpu, cuda or cuda:N; got '${d}'`);
  if (!cuda.isAvailable())
    throw new Error(
      `CREATIVEAI_DEVICE=${d}, but this build of the addon sees no CUDA device: the CUDA tests cannot run`,
    );
  return dev as Device;
}

export const TEST_DEVICE: Device = testDevice();
export const ON_GPU = TEST_DEVICE !== 'cpu';
