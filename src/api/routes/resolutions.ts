// MSI doorbell resolutions and sweeps: resolve against the VM's state (now or asOf a version),
// keep the answer as an immutable record, and serve it back byte for byte.

import { Type, type Static } from '@sinclair/typebox';
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Stores } from '../../db/stores';
import type { StoredResponse } from '../../db/idempotency-store';
import type { RecordWrite } from '../../db/record-writer';
import { SEMANTICS, type MsiRequest, type Resolution } from '../../domain/resolve/types';
import type { VmState } from '../../domain/topology/types';
import { idempotencyOf, priorResponse, sendStored } from '../command';
import { recordJson, resolveToJson } from '../resolution-memo';
import { loadVm, optionalU64, page } from '../load';
import { HttpProblem } from '../problem';
import { Body, CommandHeaders, errorResponses, Hex, Id, ListQuery, VmParams } from '../schemas';

const SemanticsSchema = Type.Union(
  SEMANTICS.map((s) => Type.Literal(s)),
  { description: 'upstream (default): QEMU 11.0 get_msi_direct_gpa; address-space: the proposed get_msi_address_space (v4); pre-fix: QEMU before the fix' },
);
const AsOf = Type.Integer({ minimum: 1, description: 'resolve against the VM as of this version (number of events)' });

const ResolveBody = Body({
  device: Id('device id'),
  vector: Type.Optional(Type.Integer({ minimum: 0, maximum: 2047, description: 'a programmed MSI-X vector (or give address and data)' })),
  address: Type.Optional(Hex('MSI address as the guest would write it (with data, instead of vector)')),
  data: Type.Optional(Hex('MSI data (EventID), with address')),
  semantics: Type.Optional(SemanticsSchema),
  asOf: Type.Optional(AsOf),
});

const SweepBody = Body({ semantics: Type.Optional(SemanticsSchema), asOf: Type.Optional(AsOf) });
const RecordParams = Type.Object({ id: Type.String({ pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$', description: 'record id (a UUID)' }) });

const created = (schema: 'Resolution' | 'Sweep', description: string) => ({
  201: { description, content: { 'application/json': { schema: Type.Ref(schema) } } },
  ...errorResponses(400, 404, 415, 422),
});
const found = (schema: 'Resolution' | 'Sweep') => ({ 200: { description: `the stored ${schema.toLowerCase()}`, content: { 'application/json': { schema: Type.Ref(schema) } } }, ...errorResponses(400, 404) });

/** The two ways to name the MSI: exactly one of them. */
function msiRequestOf(body: Static<typeof ResolveBody>): MsiRequest {
  const byVector = body.vector !== undefined;
  const byAddress = body.address !== undefined || body.data !== undefined;
  if (byVector === byAddress) {
    const pointer = byVector ? '/vector' : '';
    throw new HttpProblem(400, 'VALIDATION_FAILED', 'Invalid request', 'give either vector, or address and data (not both, not neither)', [{ pointer, detail: 'give either vector, or address and data' }]);
  }
  if (byAddress && (body.address === undefined || body.data === undefined)) {
    const pointer = body.address === undefined ? '/address' : '/data';
    throw new HttpProblem(400, 'VALIDATION_FAILED', 'Invalid request', `${pointer.slice(1)} is required with ${pointer === '/address' ? 'data' : 'address'}`, [{ pointer, detail: `${pointer.slice(1)} is required` }]);
  }
  return { deviceId: body.device, vector: body.vector, address: optionalU64(body.address), data: optionalU64(body.data) };
}

function countsOf(results: Resolution[]) {
  return {
    vectors: results.length,
    misroutedBeforeFix: results.filter((r) => r.comparison.misroutedBeforeFix).length,
    routesMissing: results.filter((r) => !r.route.installed).length,
    interruptsLost: results.filter((r) => r.diagnostics.some((d) => d.code === 'INTERRUPTS_LOST')).length,
    hwPathBlocked: results.filter((r) => r.hardwarePath !== null && !r.hardwarePath.delivered).length,
  };
}

/** Every programmed vector of the VM, devices by id, vectors by number. */
function programmedVectors(state: VmState): MsiRequest[] {
  return [...state.devices.values()]
    .sort((a, b) => a.id.localeCompare(b.id))
    .flatMap((device) => [...device.vectors.keys()].sort((a, b) => a - b).map((vector) => ({ deviceId: device.id, vector })));
}

/**
 * Stores the records (and the Idempotency-Key response) durably, then answers. A concurrent
 * request with the same key may win the race to store it: then its answer is the one.
 */
async function storeAndSend(stores: Stores, request: FastifyRequest, reply: FastifyReply, response: StoredResponse, write: RecordWrite, createdAt: string): Promise<FastifyReply> {
  const idempotent = idempotencyOf(request);
  try {
    const idempotency = idempotent === undefined ? undefined : { key: idempotent.key, fingerprint: idempotent.fingerprint, response, createdAt };
    await stores.records.write({ ...write, idempotency });
  } catch (error) {
    const prior = priorResponse(stores, idempotent);
    if (prior === undefined) throw error;
    return sendStored(reply, prior, true);
  }
  return sendStored(reply, response, false);
}

export function resolutionRoutes(app: FastifyInstance, stores: Stores): void {
  app.post<{ Params: Static<typeof VmParams>; Body: Static<typeof ResolveBody> }>(
    '/v1/vms/:vm/msi-resolutions',
    {
      schema: {
        tags: ['msi'],
        summary: 'Resolve where one MSI lands (all three semantics compared) and keep the record',
        description: 'A fault is not an error: it is a 201 whose route.installed is false. An unknown device or vector is a 404.',
        params: VmParams,
        body: ResolveBody,
        headers: CommandHeaders,
        response: created('Resolution', 'the resolution (also when it faults: route.installed is false)'),
      },
    },
    async (request, reply) => {
      const prior = priorResponse(stores, idempotencyOf(request));
      if (prior !== undefined) return sendStored(reply, prior, true);
      const { vm } = request.params;
      const msi = msiRequestOf(request.body);
      const state = loadVm(stores, vm, request.body.asOf);
      const id = randomUUID();
      const body = recordJson(id, vm, resolveToJson(state, msi, request.body.semantics ?? 'upstream'));
      const location = `/v1/msi-resolutions/${id}`;
      const createdAt = new Date().toISOString();
      return storeAndSend(stores, request, reply, { status: 201, headers: { location }, body }, { resolutions: [{ id, vmId: vm, sweepId: null, body, createdAt }] }, createdAt);
    },
  );

  app.get<{ Params: Static<typeof RecordParams> }>(
    '/v1/msi-resolutions/:id',
    { schema: { tags: ['msi'], summary: 'A stored resolution, exactly as it was returned', params: RecordParams, response: found('Resolution') } },
    (request, reply) => {
      const body = stores.resolutions.findResolution(request.params.id);
      if (body === undefined) throw new HttpProblem(404, 'RESOLUTION_NOT_FOUND', 'Resolution not found', `no MSI resolution ${request.params.id}`);
      return reply.type('application/json').send(body);
    },
  );

  const ListResolutionsQuery = Type.Object({ ...ListQuery });
  app.get<{ Params: Static<typeof VmParams>; Querystring: Static<typeof ListResolutionsQuery> }>(
    '/v1/vms/:vm/msi-resolutions',
    { schema: { tags: ['msi'], summary: "A VM's stored resolutions (sweeps' included), oldest first", params: VmParams, querystring: ListResolutionsQuery, response: errorResponses(400, 404) } },
    (request, reply) => {
      const { vm } = request.params;
      const { limit = 50, offset = 0 } = request.query;
      loadVm(stores, vm);
      const { bodies, total } = stores.resolutions.listResolutions(vm, limit, offset);
      // The stored records are spliced in as they are, so each stays byte for byte what was returned.
      const envelope = JSON.stringify(page([], total, limit, offset, `/v1/vms/${vm}/msi-resolutions`));
      return reply.type('application/json').send(`${envelope.slice(0, -2)}${bodies.join(',')}]}`);
    },
  );

  app.post<{ Params: Static<typeof VmParams>; Body: Static<typeof SweepBody> }>(
    '/v1/vms/:vm/msi-sweeps',
    {
      schema: {
        tags: ['msi'],
        summary: 'Resolve every programmed vector of the VM and count what is misrouted, missing, lost or blocked',
        params: VmParams,
        body: SweepBody,
        headers: CommandHeaders,
        response: created('Sweep', 'the sweep'),
      },
    },
    async (request, reply) => {
      const prior = priorResponse(stores, idempotencyOf(request));
      if (prior !== undefined) return sendStored(reply, prior, true);
      const { vm } = request.params;
      const semantics = request.body.semantics ?? 'upstream';
      const state = loadVm(stores, vm, request.body.asOf);
      const createdAt = new Date().toISOString();
      const resolved = programmedVectors(state).map((msi) => resolveToJson(state, msi, semantics));
      const resolutions = resolved.map((r) => r.resolution);
      const records = resolved.map((r) => {
        const id = randomUUID();
        return { id, body: recordJson(id, vm, r) };
      });
      const id = randomUUID();
      const head = JSON.stringify({ id, vm, asOfVersion: state.version, semantics, counts: countsOf(resolutions), results: [] });
      const body = `${head.slice(0, -2)}${records.map((r) => r.body).join(',')}]}`;
      return storeAndSend(
        stores,
        request,
        reply,
        { status: 201, headers: { location: `/v1/msi-sweeps/${id}` }, body },
        {
          sweep: { id, vmId: vm, body, createdAt },
          resolutions: records.map((r) => ({ id: r.id, vmId: vm, sweepId: id, body: r.body, createdAt })),
        },
        createdAt,
      );
    },
  );

  app.get<{ Params: Static<typeof RecordParams> }>(
    '/v1/msi-sweeps/:id',
    { schema: { tags: ['msi'], summary: 'A stored sweep, exactly as it was returned', params: RecordParams, response: found('Sweep') } },
    (request, reply) => {
      const body = stores.resolutions.findSweep(request.params.id);
      if (body === undefined) throw new HttpProblem(404, 'SWEEP_NOT_FOUND', 'Sweep not found', `no MSI sweep ${request.params.id}`);
      return reply.type('application/json').send(body);
    },
  );
}
