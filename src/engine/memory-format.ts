// How a 4-d tensor's elements lie in memory. 'contiguous' is row-major NCHW; 'channelsLast' keeps
// the same shape with NHWC strides, the layout oneDNN's CPU convolutions (and cuDNN's tensor-core
// kernels) work in: in NCHW every convolution reorders its input and output.

export const MEMORY_FORMATS = ['contiguous', 'channelsLast'] as const;
export type MemoryFormat = (typeof MEMORY_FORMATS)[number];

const CODES: Record<MemoryFormat, number> = { contiguous: 0, channelsLast: 1 };

export function memoryFormatCode(f: MemoryFormat): number {
  const c = CODES[f];
  if (c === undefined) throw new TypeError(`memory format must be one of ${MEMORY_FORMATS.join(', ')}; got '${f}'`);
  return c;
}
