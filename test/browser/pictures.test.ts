// A person opens the pictures in a browser: the live route of the README's S10 vector and the
// VM's topology, each straight from its URL (the way a `picture` link is followed). Chromium
// must draw them as images under the pictures' CSP, fetch nothing else, and every text must fit
// the picture (the layout counts on monospace widths). Screenshots go to test-output/browser/.

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, SCREENSHOTS } from './chromium';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServices } from '../../src/app/services';
import { buildApp } from '../../src/api/app';
import { issueToken } from '../../src/app/tokens';
import { createStores, type Stores } from '../../src/db/index';

const OUTPUT = SCREENSHOTS;

let browser: Browser;
let page: Page;
let base: string;
let stores: Stores;
let app: Awaited<ReturnType<typeof buildApp>>;
let dir: string;
/** A read-write token: the pictures are read with it as a client would, through the Authorization header. */
let token: string;

async function send(method: 'POST' | 'PUT', path: string, body: object): Promise<Record<string, unknown>> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  expect(response.status, `${method} ${path}`).toBeLessThan(300);
  return (await response.json()) as Record<string, unknown>;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'doorbell-browser-'));
  stores = await createStores(join(dir, 'doorbell.db'));
  token = (await issueToken(stores, { name: 'browser', scopes: ['write'] })).token;
  app = await buildApp({ services: createServices(stores) });
  base = await app.listen({ port: 0, host: '127.0.0.1' });
  // The README's first session (S10), with the guest's stage 1 mapping the doorbell page.
  await send('POST', '/v1/vms', {
    id: 'vm1',
    ramSize: '0x100000000',
    hostItsBase: '0x202100000',
    qemu: { version: '11.0.0' },
  });
  await send('POST', '/v1/vms/vm1/buses', { id: 'pcie.1', type: 'pxb-pcie', busNr: 1 });
  await send('POST', '/v1/vms/vm1/smmus', { id: 'smmuv3.0', primaryBus: 'pcie.1', accel: true });
  await send('POST', '/v1/vms/vm1/buses', {
    id: 'pcie.port1',
    type: 'pcie-root-port',
    bus: 'pcie.1',
    secondaryBusNr: 2,
  });
  await send('POST', '/v1/vms/vm1/devices', {
    id: 'hostdev0',
    driver: 'vfio-pci',
    bus: 'pcie.port1',
    slot: 0,
    host: '0019:06:00.0',
    iommufd: 'iommufd0',
  });
  await send('POST', '/v1/vms/vm1/devices/hostdev0/mappings', {
    stage: 1,
    iova: '0xFFFFF000',
    output: '0x08090000',
    size: '0x1000',
  });
  await send('PUT', '/v1/vms/vm1/devices/hostdev0/msi-vectors/0', { address: '0xFFFFF040', data: '0x0' });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1500, height: 1000 } });
  await page.setExtraHTTPHeaders({ authorization: `Bearer ${token}` });
  mkdirSync(OUTPUT, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await app?.close();
  await stores?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Drawn {
  contentType: string;
  csp: string;
  requests: string[];
  width: number;
  height: number;
  title: string;
  texts: number;
  /** Texts whose drawn box leaves the picture. */
  outside: string[];
}

/** Opens a picture URL as a tab would, screenshots it, and measures what chromium drew. */
async function open(url: string, screenshot: string): Promise<Drawn> {
  const requests: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  const response = await page.goto(url);
  page.removeAllListeners('request');
  // Runs in the page (as text: this project compiles without the DOM library).
  const measured = (await page.evaluate(`(() => {
    const svg = document.documentElement;
    const view = svg.viewBox.baseVal;
    const texts = [...svg.querySelectorAll('text')];
    const outside = texts
      .filter((t) => {
        const box = t.getBBox();
        return box.x < -1 || box.y < -1 || box.x + box.width > view.width + 1 || box.y + box.height > view.height + 1;
      })
      .map((t) => t.textContent ?? '');
    return {
      width: view.width,
      height: view.height,
      title: svg.querySelector('title')?.textContent ?? '',
      texts: texts.length,
      outside,
    };
  })()`)) as Omit<Drawn, 'contentType' | 'csp' | 'requests'>;
  // The whole picture: the viewport is set to its size (a full-page screenshot of an SVG document never settles).
  await page.setViewportSize({ width: Math.ceil(measured.width), height: Math.ceil(measured.height) });
  await page.screenshot({ path: join(OUTPUT, screenshot), timeout: 60_000 });
  const headers = response!.headers();
  return {
    contentType: headers['content-type'] ?? '',
    csp: headers['content-security-policy'] ?? '',
    requests,
    ...measured,
  };
}

describe('pictures in a browser', () => {
  it('draws the route of vector 0: every semantics, the hardware path, all text inside the picture', async () => {
    const route = (await (
      await fetch(`${base}/v1/vms/vm1/devices/hostdev0/msi-vectors/0/route`, {
        headers: { authorization: `Bearer ${token}` },
      })
    ).json()) as {
      picture: string;
    };
    const drawn = await open(route.picture, 'route-s10.png');
    expect(drawn.contentType).toMatch(/^image\/svg\+xml/);
    expect(drawn.csp).toContain("default-src 'none'");
    // Nothing but the picture itself is fetched.
    expect(drawn.requests).toEqual([route.picture]);
    expect(drawn.title).toBe('MSI path of hostdev0 vector 0 in VM vm1');
    expect(drawn.width).toBeGreaterThan(800);
    expect(drawn.texts).toBeGreaterThan(40);
    expect(drawn.outside).toEqual([]);
    // The upstream column says where the MSI lands.
    await expect(page.locator('[data-column="upstream"][data-row="kvm-route"]').textContent()).resolves.toContain(
      '0x8090040',
    );
  });

  it('draws the topology: pxb-pcie, root port, the accel SMMU, the device with its stream id, the ITS', async () => {
    const vm = (await (
      await fetch(`${base}/v1/vms/vm1`, { headers: { authorization: `Bearer ${token}` } })
    ).json()) as { picture: string };
    const drawn = await open(vm.picture, 'topology-vm1.png');
    expect(drawn.contentType).toMatch(/^image\/svg\+xml/);
    expect(drawn.requests).toEqual([vm.picture]);
    expect(drawn.outside).toEqual([]);
    const text = (await page.locator('svg').textContent()) ?? '';
    for (const shown of ['pcie.1', 'pcie.port1', 'smmuv3.0', 'hostdev0', '0x200']) expect(text).toContain(shown);
  });

  it('draws the diff of a re-import: the device removed, the port and device added, the route that went', async () => {
    // vm2 as the lab first ran it (hostdev0 behind pcie.port1, its doorbell page mapped in stage 1
    // as in vm1), then as it runs now: hostdev0 gone, hostdev1 behind a new pcie.port2.
    const before = `qemu-system-aarch64 -machine virt,gic-version=3,accel=kvm -m 4G -nodefaults \\
  -object iommufd,id=iommufd0 \\
  -device pxb-pcie,id=pcie.1,bus_nr=1,bus=pcie.0,addr=0x1 \\
  -device arm-smmuv3,primary-bus=pcie.1,id=smmuv3.0,accel=on \\
  -device pcie-root-port,id=pcie.port1,bus=pcie.1,chassis=1,addr=0x0 \\
  -device vfio-pci,host=0019:06:00.0,bus=pcie.port1,iommufd=iommufd0,id=hostdev0
`;
    const after = before.replace(
      '-device vfio-pci,host=0019:06:00.0,bus=pcie.port1,iommufd=iommufd0,id=hostdev0',
      '-device pcie-root-port,id=pcie.port2,bus=pcie.1,chassis=2,addr=0x1 \\\n  -device vfio-pci,host=0019:07:00.0,bus=pcie.port2,iommufd=iommufd0,id=hostdev1',
    );
    await send('POST', '/v1/vm-imports', {
      vm: 'vm2',
      format: 'qemu-cmdline',
      source: before,
      qemu: { version: '11.0.0' },
    });
    await send('POST', '/v1/vms/vm2/devices/hostdev0/mappings', {
      stage: 1,
      iova: '0xFFFFF000',
      output: '0x08090000',
      size: '0x1000',
    });
    await send('PUT', '/v1/vms/vm2/devices/hostdev0/msi-vectors/0', { address: '0xFFFFF040', data: '0x0' });
    await send('POST', '/v1/vms/vm2/imports', { format: 'qemu-cmdline', source: after });
    const diff = (await (
      await fetch(`${base}/v1/vms/vm2/diff`, { headers: { authorization: `Bearer ${token}` } })
    ).json()) as { picture: string; changes: unknown[] };
    expect(diff.changes).toHaveLength(3);
    const drawn = await open(diff.picture, 'diff-vm2.png');
    expect(drawn.contentType).toMatch(/^image\/svg\+xml/);
    expect(drawn.csp).toContain("default-src 'none'");
    expect(drawn.requests).toEqual([diff.picture]);
    expect(drawn.title).toMatch(/^VM vm2: what changed from version \d+ to \d+$/);
    expect(drawn.outside).toEqual([]);
    await expect(page.locator('[data-op="remove"][data-id="hostdev0"]').textContent()).resolves.toContain('removed');
    await expect(page.locator('[data-op="add"][data-id="pcie.port2"]').textContent()).resolves.toContain('added');
    await expect(page.locator('[data-kind="route"][data-id="hostdev0/0"]').textContent()).resolves.toContain(
      '0x8090040',
    );
  });
});
