// Asking the service where an MSI lands, as a client would.

import { expect } from 'vitest';
import type { TestApp } from './test-app';

export interface RouteJson {
  installed: boolean;
  address?: string;
  data?: string;
  devid?: string;
  reason?: string;
  cause?: string;
}

export interface ResolutionJson {
  id: string;
  vm: string;
  device: string;
  vector?: number;
  asOfVersion: number;
  semantics: string;
  semanticsSource?: string;
  qemu?: { version: string | null; package: string | null; behaviour: string; rule: string; declaredBy: object | null };
  picture?: string;
  input: { address: string; data: string };
  streamId: string;
  devid: string;
  addressSpace: string;
  route: RouteJson;
  fault: null | {
    type: string;
    code: string;
    stage: number;
    inputAddress: string;
    streamId: string;
    recorded: boolean;
    rnw: boolean;
  };
  doorbell: null | { its: boolean; frame: string | null; offset: string | null };
  hardwarePath: null | {
    deviceWrites: string;
    steps: { action: string; input: string; output: string | null }[];
    delivered: boolean;
    reason?: string;
  };
  diagnostics: { code: string; severity: string; message: string }[];
  comparison: { 'pre-fix': RouteJson; 'address-space': RouteJson; upstream: RouteJson; misroutedBeforeFix: boolean };
  trail: {
    step: number;
    action: string;
    rule?: string;
    input: object;
    output: object;
    events: { position: number; type: string }[];
  }[];
}

/** POSTs a resolution and insists on 201: a fault is an answer, not an error. */
export async function resolveMsi(t: TestApp, vm: string, body: Record<string, unknown>): Promise<ResolutionJson> {
  const response = await t.http.post(`/v1/vms/${vm}/msi-resolutions`).send(body);
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  expect(response.headers.location).toBe(`/v1/msi-resolutions/${response.body.id}`);
  return response.body as ResolutionJson;
}

export const codesOf = (r: ResolutionJson) => r.diagnostics.map((d) => d.code);

export function installed(address: string, data: string, devid: string) {
  return expect.objectContaining({ installed: true, address, data, devid });
}
