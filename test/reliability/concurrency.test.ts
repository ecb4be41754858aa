// 50 writers x 40 conditional commands on one VM, over real sockets on 127.0.0.1: every writer
// retries a 412 with the ETag and version the 412 carries. The VM's version then counts exactly
// the acknowledged commands, each landed once (no duplicates, none lost), and nothing was a 5xx.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataOf, percentile, runWriters } from '../../bench/if-match-writers';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { acceleratedS10 } from '../helpers/topology';

const WRITERS = 50;
const COMMANDS = 40;

let t: TestApp;
let base: string;
beforeAll(async () => {
  t = await startTestApp();
  await acceleratedS10(t, 'contended');
  base = await t.app.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(async () => t.close());

describe('concurrent conditional writers', () => {
  it('a 412 carries the current ETag and version, so a retry needs no GET', async () => {
    const stale = await t.http
      .put('/v1/vms/contended/devices/hostdev0/msi-vectors/1')
      .set('If-Match', '"1"')
      .send({ address: '0x8090040', data: '0x1' });
    expect(stale.status).toBe(412);
    const { version } = (await t.http.get('/v1/vms/contended').expect(200)).body;
    expect(stale.headers.etag).toBe(`"${version}"`);
    expect(stale.body).toMatchObject({
      code: 'PRECONDITION_FAILED',
      currentEtag: `"${version}"`,
      currentVersion: version,
    });
    await t.http
      .put('/v1/vms/contended/devices/hostdev0/msi-vectors/1')
      .set('If-Match', stale.body.currentEtag)
      .send({ address: '0x8090040', data: '0x1' })
      .expect(200);
  });

  it(`${WRITERS} writers x ${COMMANDS} commands: version = acknowledged, no duplicates, no 5xx`, async () => {
    const before = (await t.http.get('/v1/vms/contended').expect(200)).body.version as number;
    const result = await runWriters({
      base,
      tokens: [t.adminToken],
      vm: 'contended',
      device: 'hostdev0',
      writers: WRITERS,
      commandsPerWriter: COMMANDS,
    });
    console.log(
      `concurrency: ${result.acknowledged.length} commands acknowledged in ${(result.wallMs / 1000).toFixed(1)} s, ` +
        `${result.attempts} requests, ${result.preconditionFailures} answered 412; ` +
        `per request p50 ${percentile(result.attemptMs, 50).toFixed(1)} ms, p99 ${percentile(result.attemptMs, 99).toFixed(1)} ms; ` +
        `per command (retries included) p50 ${percentile(result.commandMs, 50).toFixed(0)} ms, p99 ${percentile(result.commandMs, 99).toFixed(0)} ms`,
    );
    expect(result.unexpected).toEqual({});
    expect(result.acknowledged).toHaveLength(WRITERS * COMMANDS);

    const after = (await t.http.get('/v1/vms/contended').expect(200)).body.version as number;
    expect(after - before).toBe(WRITERS * COMMANDS);
    // The acknowledged versions are exactly before+1 .. after: one command, one version.
    expect(result.acknowledged.map((a) => a.version).sort((a, b) => a - b)).toEqual(
      Array.from({ length: WRITERS * COMMANDS }, (_, i) => before + 1 + i),
    );
    // The log holds each command once: every (writer, command) data value, no other, no twice.
    const events = await t.http.get(`/v1/vms/contended/events?offset=${before}&limit=1000`);
    const all = [...events.body.results];
    for (let offset = before + 1000; offset < after; offset += 1000)
      all.push(...(await t.http.get(`/v1/vms/contended/events?offset=${offset}&limit=1000`).expect(200)).body.results);
    const landed = all.map((e: { data: { data: string } }) => e.data.data).sort();
    const expected = Array.from({ length: WRITERS }, (_, w) =>
      Array.from({ length: COMMANDS }, (_, c) => BigInt(dataOf(w, c))),
    )
      .flat()
      .map((v) => `0x${v.toString(16)}`)
      .sort();
    expect(landed).toEqual(expected);
  }, 120_000);
});
