// The README embeds pictures generated from its own first session (scripts/readme-pictures.ts):
// they must be what the service draws today, and what the README's session builds.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { firstSession, README_PATH, README_PICTURES, readmePictures } from '../../scripts/readme-pictures';
import { expectWellFormedPicture, withAttribute } from './svg-inspect';

describe('README pictures', () => {
  it('are up to date (run `npm run pictures` after changing the pictures or the first session)', async () => {
    const generated = await readmePictures();
    const readme = readFileSync(README_PATH, 'utf8');
    for (const file of Object.keys(README_PICTURES)) {
      expect(readme, `README.md embeds ${file}`).toContain(`](${file})`);
      const committed = readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8');
      expect(committed === generated[file], `${file} is out of date: run npm run pictures`).toBe(true);
      expectWellFormedPicture(committed);
    }
  });

  it('come from the session the README shows: S10 with QEMU 11.0.0 declared, vector 0 under upstream', async () => {
    const steps = firstSession(readFileSync(README_PATH, 'utf8'));
    expect(steps[0]).toEqual({
      method: 'POST',
      path: '/v1/vms',
      body: { id: 'vm1', ramSize: '0x100000000', hostItsBase: '0x202100000', qemu: { version: '11.0.0' } },
    });
    const svg = (await readmePictures())['docs/s10-route.svg']!;
    const doc = expectWellFormedPicture(svg);
    // The declared 11.0.0 picks upstream, the resolved column; its route is the vITS doorbell.
    expect(svg).toContain('resolved as upstream');
    expect(
      withAttribute(doc, 'data-column', 'upstream')
        .map((c) => c.textContent)
        .join(' '),
    ).toContain('0x8090040');
  });
});
