// Debian's chromium, headless, as every browser test starts it: no sandbox (root in CI), no GPU,
// and nothing that reaches for the network on its own (this machine has none).

import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';

export const SCREENSHOTS = join(process.cwd(), 'test-output', 'browser');

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
    ],
  });
}
