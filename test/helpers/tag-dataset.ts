// Test fixture: a tiny tag dataset in the HW3-2 anime-faces layout (images/N.jpg + tags.csv).
import fs from 'node:fs';
import path from 'node:path';

import sharp from 'sharp';

import { prepareCache } from '../../src/data/index.js';
import { openDataset } from '../../src/data/sources/index.js';

/** Faces in the HW3-2 layout: the top is the hair colour, a band lower down the eyes'. */
export async function makeTagDataset(dir: string, perCombo: number, only?: { hair: string[] }): Promise<void> {
  const allHair = { blue: '#2040e0', green: '#20c040', pink: '#f080c0', blonde: '#f0e060' } as const;
  const hair = Object.fromEntries(Object.entries(allHair).filter(([h]) => only?.hair.includes(h) ?? true));
  const eyes = { red: '#e02020', blue: '#2020e0', green: '#10a010' } as const;
  fs.mkdirSync(path.join(dir, 'images'), { recursive: true });
  const lines: string[] = [];
  let i = 0;
  for (const [h, hc] of Object.entries(hair))
    for (const [e, ec] of Object.entries(eyes))
      for (let k = 0; k < perCombo; k++, i++) {
        const band = await sharp({ create: { width: 64, height: 10, channels: 3, background: ec } })
          .png()
          .toBuffer();
        const top = await sharp({ create: { width: 64, height: 24 + (k % 4), channels: 3, background: hc } })
          .png()
          .toBuffer();
        await sharp({ create: { width: 64, height: 64, channels: 3, background: '#f0d0b0' } })
          .composite([
            { input: top, top: 0, left: 0 },
            { input: band, top: 34 + k, left: 0 },
          ])
          .jpeg()
          .toFile(path.join(dir, 'images', `${i}.jpg`));
        lines.push(`${i},${h} hair ${e} eyes`);
      }
  fs.writeFileSync(path.join(dir, 'tags.csv'), lines.join('\n') + '\n');
}

/** --set overrides that shrink a tag GAN config to seconds on a CPU (batches of 8, widths of 4). */
export const TINY_TAG_GAN = [
  'data.batchSize=8',
  'data.workers=0',
  'generator.width=4',
  'discriminator.width=4',
  'generator.noiseDim=8',
];

/**
 * makeTagDataset in `${out}-src` (all four hair colours, or `only` those), prepared as a 64 px cache
 * in `out` with a random split (`train,val` fractions; the rest is test): the fixture of the
 * tag-model tests.
 */
export async function prepareTagCache(
  out: string,
  perCombo: number,
  split = 'random:0.8,0.1',
  only?: { hair: string[] },
): Promise<void> {
  const src = `${out}-src`;
  await makeTagDataset(src, perCombo, only);
  await prepareCache(await openDataset(`anime-faces:${src}`), { out, resolutions: [64], split });
}
