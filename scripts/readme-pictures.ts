// The pictures the README shows, generated from the README itself: its first session (scenario
// S10) is run command by command against the service on an in-memory database, then the pictures
// are read from the service as a client would. npm run pictures writes them; a test fails when
// the committed files differ from what this generates.

import { readFileSync } from 'node:fs';
import { buildApp } from '../src/api/app';
import { createServices } from '../src/app/services';
import { createStores } from '../src/db/index';

export const README_PATH = new URL('../README.md', import.meta.url);
/** Where each picture goes, and the URL of the service that draws it. */
export const README_PICTURES: Record<string, string> = {
  'docs/s10-route.svg': '/v1/vms/vm1/devices/hostdev0/msi-vectors/0/route.svg',
};
const PUBLIC_URL = 'http://localhost:8080';

export interface SessionStep {
  method: string;
  path: string;
  body?: unknown;
}

/** The commands of the README's "A first session" block: every curl that POSTs or PUTs. */
export function firstSession(readme: string): SessionStep[] {
  const section = readme.split('## A first session')[1]?.split('```sh')[1]?.split('```')[0];
  if (section === undefined) throw new Error('README.md has no "A first session" shell block');
  const commands = section.replace(/\\\n\s*/g, ' ').split('\n');
  return commands.flatMap((line): SessionStep[] => {
    const match = /^curl -s (?:-H "\$AUTH" )?-X(POST|PUT) localhost:8080(\S+)(?: .*?-d '([^']*)')?/.exec(line.trim());
    if (match === null) return [];
    return [{ method: match[1]!, path: match[2]!, body: match[3] === undefined ? undefined : JSON.parse(match[3]) }];
  });
}

/** Each README picture's path and SVG text. */
export async function readmePictures(): Promise<Record<string, string>> {
  const stores = await createStores(':memory:');
  // In memory and injected, never listening: the session's token step is left out.
  // No load shedding: a busy machine must not turn a README step into a 503.
  const app = await buildApp({
    services: createServices(stores),
    publicUrl: PUBLIC_URL,
    auth: 'off',
    rateLimit: false,
    pressure: false,
  });
  try {
    for (const step of firstSession(readFileSync(README_PATH, 'utf8'))) {
      const response = await app.inject({
        method: step.method as 'POST' | 'PUT',
        url: step.path,
        payload: step.body as object | undefined,
        headers: { 'x-actor': 'readme' },
      });
      if (response.statusCode >= 300)
        throw new Error(`README step ${step.method} ${step.path} answered ${response.statusCode}: ${response.body}`);
    }
    const pictures: Record<string, string> = {};
    for (const [file, url] of Object.entries(README_PICTURES)) {
      const response = await app.inject({ method: 'GET', url });
      if (response.statusCode !== 200) throw new Error(`GET ${url} answered ${response.statusCode}: ${response.body}`);
      pictures[file] = response.body;
    }
    return pictures;
  } finally {
    await app.close();
    await stores.close();
  }
}
