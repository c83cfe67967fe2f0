// Test fixture: a tiny folder in the cub-extra layout (uncaptioned, already cropped birds of other
// species with CUB ids): images.txt, image_class_labels.txt, classes.txt, images/<class>/<name>.jpg.
import fs from 'node:fs';
import path from 'node:path';

import sharp from 'sharp';

/**
 * `perClass` images of each class, a flat colour per class; `missing` more lines in images.txt whose
 * files are absent (each must be reported, not read).
 */
export async function makeCubExtra(dir: string, classes: string[], perClass: number, missing = 0): Promise<void> {
  const images: string[] = [];
  const labels: string[] = [];
  let id = 1;
  for (const [k, cls] of classes.entries()) {
    fs.mkdirSync(path.join(dir, 'images', cls), { recursive: true });
    for (let i = 0; i < perClass + (k === 0 ? missing : 0); i++, id++) {
      const name = `${cls}/${cls.replace(/^\d+\./, '')}_${String(i).padStart(4, '0')}.jpg`;
      images.push(`${id} ${name}`);
      labels.push(`${id} ${k + 1}`);
      if (i >= perClass) continue; // listed, not on disk
      const shade = Math.round((255 * (k + 1)) / (classes.length + 1));
      await sharp({
        create: { width: 40, height: 40, channels: 3, background: { r: shade, g: 255 - shade, b: (i * 37) % 256 } },
      })
        .jpeg()
        .toFile(path.join(dir, 'images', name));
    }
  }
  fs.writeFileSync(path.join(dir, 'images.txt'), images.join('\n') + '\n');
  fs.writeFileSync(path.join(dir, 'image_class_labels.txt'), labels.join('\n') + '\n');
  fs.writeFileSync(path.join(dir, 'classes.txt'), classes.map((c, k) => `${k + 1} ${c}`).join('\n') + '\n');
}
