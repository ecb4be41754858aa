// doorbell webhooks list|add|test|deliveries against a test service and a receiver on loopback.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenForCli, runCli } from '../helpers/cli';
import { startTestApp, type TestApp } from '../helpers/test-app';
import { type Receiver, startReceiver, verifies } from '../helpers/webhook-receivers';

let t: TestApp;
let env: Record<string, string>;
let receiver: Receiver;

beforeAll(async () => {
  t = await startTestApp();
  env = await listenForCli(t);
  // Answers 200 to the first request and 500 to the rest.
  receiver = await startReceiver((_r, index) => (index === 0 ? 200 : 500));
});
afterAll(async () => {
  await receiver.close();
  await t.close();
});

describe('doorbell webhooks', () => {
  it('add prints the secret once; list, test (a ping) and deliveries show the hook and the attempt', async () => {
    const added = await runCli(['webhooks', 'add', receiver.url, '--type', 'VmDefined', '--json'], env);
    expect(added.code).toBe(0);
    const hook = JSON.parse(added.stdout) as { id: string; secret: string };
    expect(hook.secret).toMatch(/^whsec_/);

    const list = await runCli(['webhooks', 'list'], env);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(hook.id);
    expect(list.stdout).toContain('VmDefined');
    expect(list.stdout).not.toContain(hook.secret);

    const ping = await runCli(['webhooks', 'test', hook.id], env);
    expect(ping.code).toBe(0);
    expect(ping.stdout).toMatch(/^ping msg_\S+: delivered \(200\)/);
    expect(JSON.parse(receiver.received[0]!.body)).toMatchObject({ type: 'WebhookPing', webhook: hook.id });
    expect(verifies(hook.secret, receiver.received[0]!)).toBe(true);

    // The receiver answers 500 from now on: the ping fails, exit 1.
    const failed = await runCli(['webhooks', 'test', hook.id], env);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toContain('failed (500)');

    const deliveries = await runCli(['webhooks', 'deliveries', hook.id, '--json'], env);
    expect(deliveries.code).toBe(0);
    expect((JSON.parse(deliveries.stdout) as { outcome: string }[]).map((d) => d.outcome)).toEqual([
      'failed',
      'delivered',
    ]);
  }, 60_000);

  it('add refuses a host the server does not allow (exit 1, the rule named)', async () => {
    const refused = await runCli(['webhooks', 'add', 'http://10.9.8.7/hook'], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('WEBHOOK_URL_REFUSED');
  }, 60_000);
});
