// A larger DF-GAN from a trained smaller one (progressive growing, Karras et al. 2018, without the
// fade-in): the 128 and 256 px models start where the 64 px one is, and training adds the detail.
//
//   G: every block, fc and toRgb kept; new nf-channel blocks on top whose residual branch's last
//      convolution starts at zero, so each begins as a nearest-neighbour up-sampling of its input
//      and the grown G first draws (nearly: toRgb now reads the up-sampled features) the small G's
//      image, enlarged.
//   D: stem, every block and the head kept; new blocks in front (between the stem, which now reads
//      the larger image, and the old first block) whose γ starts at 0, so each begins as an average
//      pooling of the stem's features.
//
// The layouts must agree: the grown model's base side is the small model's (generatorChannels).
import { noGrad } from '../../engine/index.js';
import { init, type StateDict } from '../../nn/index.js';
import type { DfDiscriminator } from './discriminator.js';
import { generatorChannels, type DfGeneratorOptions, type DfGenerator } from './generator.js';

/** The options both networks of a DF-GAN share; the discriminator's width is its own. */
export interface DfSource {
  generator: DfGeneratorOptions;
  discriminatorWidth: number;
}

const mismatch = (what: string, there: unknown, here: unknown): never => {
  throw new Error(`cannot grow this DF-GAN from the given one: ${what} ${String(here)} here, ${String(there)} there`);
};

/** Blocks the target layout has beyond the source's, after checking the two can grow into each other. */
function blocksAdded(source: DfGeneratorOptions, target: DfGeneratorOptions): number {
  if (source.noiseDim !== target.noiseDim) mismatch('noiseDim', source.noiseDim, target.noiseDim);
  if (source.condDim !== target.condDim) mismatch('sentence width', source.condDim, target.condDim);
  if (source.width !== target.width) mismatch('generator width', source.width, target.width);
  const base = source.baseResolution ?? source.resolution;
  if ((target.baseResolution ?? target.resolution) !== base) mismatch('base side', base, target.baseResolution);
  if (!(target.resolution > source.resolution)) mismatch('side (it must grow)', source.resolution, target.resolution);
  const from = generatorChannels(source.width, source.resolution, base).length;
  return generatorChannels(target.width, target.resolution, base).length - from;
}

/**
 * Loads `state` (a smaller DF-GAN generator's) into `G` and zeroes the new blocks' residual branches.
 * Returns how many blocks were added.
 */
export function growGenerator(G: DfGenerator, source: DfGeneratorOptions, state: StateDict): number {
  const kept = G.blocks.length - blocksAdded(source, G.o);
  G.loadStateDict(state, { fresh: (k) => blockIndex('block', k) >= kept });
  noGrad(() => {
    for (const b of G.blocks.slice(kept)) {
      init.zeros_(b.conv2.weight);
      init.zeros_(b.conv2.bias!);
    }
  });
  return G.blocks.length - kept;
}

/** Loads `state` (a smaller DF-GAN discriminator's) into `D`, its blocks moved behind the new ones. */
export function growDiscriminator(D: DfDiscriminator, source: DfSource, state: StateDict): void {
  if (source.discriminatorWidth !== D.o.width) mismatch('discriminator width', source.discriminatorWidth, D.o.width);
  const { resolution, baseResolution, condDim } = D.o;
  const added = blocksAdded(source.generator, { ...source.generator, resolution, baseResolution, condDim });
  const moved: StateDict = new Map();
  for (const [k, t] of state) {
    const i = blockIndex('encoder.block', k);
    moved.set(i < 0 ? k : k.replace(`encoder.block${i}.`, `encoder.block${i + added}.`), t);
  }
  const i = (k: string): number => blockIndex('encoder.block', k);
  D.loadStateDict(moved, { fresh: (k) => i(k) >= 0 && i(k) < added });
  // The new blocks' γ is 0 from their constructor: nothing to reset.
}

/** n for a name `${prefix}n.…`, else -1. */
function blockIndex(prefix: string, name: string): number {
  if (!name.startsWith(prefix)) return -1;
  const m = /^(\d+)\./.exec(name.slice(prefix.length));
  return m === null ? -1 : Number(m[1]);
}
