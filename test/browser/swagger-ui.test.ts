// A person in Swagger UI: open /docs, press "Authorize" and paste the admin token the service
// printed on its first start (authentication stays on, as a user meets it), then for each step of
// the README's first session (scenario S10) expand the operation, "Try it out", keep the
// pre-filled example, "Execute", and read the status Swagger UI shows. The last step must show
// the vITS doorbell 0x8090040. Screenshots go to test-output/browser/.

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, SCREENSHOTS } from './chromium';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServices } from '../../src/app/services';
import { buildApp } from '../../src/api/app';
import { bootstrapAdminToken } from '../../src/app/tokens';
import { createStores, type Stores } from '../../src/db/index';

const OUTPUT = SCREENSHOTS;

let browser: Browser;
let page: Page;
let base: string;
let stores: Stores;
let app: Awaited<ReturnType<typeof buildApp>>;
let dir: string;
let token: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'doorbell-browser-'));
  const dbPath = join(dir, 'doorbell.db');
  stores = await createStores(dbPath);
  token = (await bootstrapAdminToken(stores, dbPath))!.token;
  app = await buildApp({ services: createServices(stores) });
  base = await app.listen({ port: 0, host: '127.0.0.1' });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  mkdirSync(OUTPUT, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await app?.close();
  await stores?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Expands an operation, presses "Try it out" (once), picks an example, presses Execute; returns status and body. */
async function execute(tag: string, operationId: string, example?: string): Promise<{ status: number; body: string }> {
  const block = page.locator(`#operations-${tag}-${operationId}`);
  if (!(await block.locator('.opblock-body').isVisible())) await block.locator('.opblock-summary').first().click();
  const tryOut = block.locator('button.try-out__btn');
  if ((await tryOut.textContent())?.includes('Try it out')) await tryOut.click();
  if (example !== undefined)
    await block.locator('.opblock-section-request-body .examples-select select').selectOption(example);
  const responses = block.locator('.live-responses-table .response');
  await block.locator('button.execute').click();
  await responses.first().waitFor();
  // Each Execute replaces the live response; wait until it shows the answer to this click.
  await page.waitForTimeout(300);
  const statusText =
    (await block.locator('.live-responses-table tbody .response .response-col_status').first().textContent()) ?? '';
  const status = Number(/\d{3}/.exec(statusText)?.[0]);
  const body = (await block.locator('.live-responses-table .response-col_description pre').first().textContent()) ?? '';
  await block.screenshot({ path: join(OUTPUT, `${operationId}${example === undefined ? '' : `-${example}`}.png`) });
  return { status, body };
}

describe('Swagger UI, first session (S10)', () => {
  it('builds the topology and resolves vector 0 by clicking Execute on each pre-filled example', async () => {
    await page.goto(`${base}/docs`);
    await page.locator('#operations-vms-defineVm').waitFor();
    await page.screenshot({ path: join(OUTPUT, 'docs.png') });

    // Step 0: Authorize with the admin token.
    await page.locator('.auth-wrapper button.authorize').click();
    const dialog = page.locator('.dialog-ux .modal-ux');
    await dialog.locator('input').first().fill(token);
    await dialog.locator('button.authorize').click();
    await page.screenshot({ path: join(OUTPUT, 'authorize.png') });
    await dialog.locator('button.btn-done').click();

    const steps: [string, string, string?][] = [
      ['vms', 'defineVm'],
      ['buses', 'addBus', 'pxb'],
      ['buses', 'addBus', 'rootPort'],
      ['smmus', 'addSmmu'],
      ['devices', 'attachDevice'],
      ['msi-vectors', 'programMsiVector'],
      ['msi', 'resolveMsi'],
    ];
    const results = [];
    for (const [tag, operationId, example] of steps) {
      const result = await execute(tag, operationId, example);
      results.push({ operationId, example, ...result });
      expect(result.status, `${operationId} ${example ?? ''}: ${result.body.slice(0, 300)}`).toBeGreaterThanOrEqual(
        200,
      );
      expect(result.status, `${operationId} ${example ?? ''}: ${result.body.slice(0, 300)}`).toBeLessThan(300);
    }
    const resolution = results.at(-1)!;
    expect(resolution.status).toBe(201);
    // QEMU 11.0 routes the vITS doorbell, whatever gIOVA the guest wrote (S10).
    expect(JSON.parse(resolution.body).route).toMatchObject({ installed: true, address: '0x8090040', devid: '0x200' });
    const route = page
      .locator('#operations-msi-resolveMsi .live-responses-table pre span', { hasText: '"route"' })
      .first();
    await route.scrollIntoViewIfNeeded();
    await page.mouse.wheel(0, 150);
    await page.screenshot({ path: join(OUTPUT, 'resolution.png') });

    // What Swagger UI built is what the service holds.
    const vm = (await (
      await fetch(`${base}/v1/vms/vm1`, { headers: { authorization: `Bearer ${token}` } })
    ).json()) as {
      version: number;
      devices: object[];
    };
    // Signed by the token Swagger UI sent.
    const events = (await (
      await fetch(`${base}/v1/vms/vm1/events`, { headers: { authorization: `Bearer ${token}` } })
    ).json()) as { results: { metadata: { actor: string } }[] };
    expect(events.results.every((e) => e.metadata.actor === 'admin')).toBe(true);
    // Step 1 declares the build too: VmDefined and QemuBuildDeclared.
    expect(vm.version).toBe(7);
    expect(vm.devices[0]).toMatchObject({ id: 'hostdev0', streamId: '0x200', smmu: 'smmuv3.0' });
  });

  it('imports the two example topologies and exports the first session as a command line and a libvirt domain', async () => {
    // Still authorized from the first session (the same page).
    for (const example of ['qemu', 'libvirt']) {
      const result = await execute('vms', 'importVm', example);
      expect(result.status, `importVm ${example}: ${result.body.slice(0, 300)}`).toBe(201);
      const imported = JSON.parse(result.body) as { devices: { streamId: string }[]; report: { ignored: unknown[] } };
      // Part B of the fidelity notes: the first passthrough device behind pxb bus 1 is at 0x200.
      expect(imported.devices[0]?.streamId).toBe('0x200');
    }
    const qemu = await execute('vms', 'exportQemuCmdline');
    expect(qemu.status).toBe(200);
    expect(qemu.body).toMatch(/^qemu-system-aarch64 /);
    const libvirt = await execute('vms', 'exportLibvirtXml');
    expect(libvirt.status).toBe(200);
    expect(libvirt.body).toContain("<domain type='kvm'>");
  });
});
