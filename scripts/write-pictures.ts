// npm run pictures: regenerates the pictures the README embeds (docs/*.svg) from its first session.

import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readmePictures } from './readme-pictures';

for (const [file, svg] of Object.entries(await readmePictures())) {
  const path = new URL(`../${file}`, import.meta.url);
  writeFileSync(path, svg);
  console.log(`wrote ${fileURLToPath(path)}`);
}
