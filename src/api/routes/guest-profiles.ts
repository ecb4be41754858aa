// Guest profiles (contract v1.3, issue 19): the profiles with their rules and citations, and a
// VM's declaration of the guest it runs.

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { executeCommand } from '../../app/execute-command.js';
import { GUEST_PROFILE_IDS, GUEST_PROFILES } from '../../domain/guest/profiles.js';
import { commandContext, type RouteOptions, sendAnswer, sendJson } from '../http.js';
import { baseUrlOf } from '../links.js';
import { vmResource } from '../representations.js';
import { CommandHeaders, commandResponses, errorResponses, Query, VmParams } from '../schemas/common.js';
import { GuestBody, GuestProfilesSchema } from '../schemas/guest.js';

export const guestProfileRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app, { services, publicUrl }) => {
  app.get(
    '/v1/guest-profiles',
    {
      schema: {
        operationId: 'listGuestProfiles',
        tags: ['guest-profiles'],
        summary: 'The guest profiles, each rule cited to the Linux source (file, function, kernel range)',
        querystring: Query({}),
        response: {
          200: { description: 'the profiles', content: { 'application/json': { schema: GuestProfilesSchema } } },
          ...errorResponses(400),
        },
      },
    },
    (_request, reply) => {
      const results = GUEST_PROFILE_IDS.map((id) => GUEST_PROFILES[id]);
      sendJson(reply, { count: results.length, results });
    },
  );

  app.put(
    '/v1/vms/:vm/guest',
    {
      schema: {
        operationId: 'declareGuestProfile',
        tags: ['vms'],
        summary: 'Declare the guest the VM runs, as a profile (GuestProfileDeclared)',
        description:
          'Resolutions, sweeps and live routes then use what the profile implies (the STE, CD and stage-1 mapping of the doorbell, the MSI-X vectors) wherever the VM has no recorded guest state; recorded state always wins, and every trail step the profile feeds says "assumed from <profile>". The same declaration again appends nothing; with asOf, the profile declared at that version.',
        params: VmParams,
        body: GuestBody,
        headers: CommandHeaders,
        response: commandResponses(200, Type.Ref('Vm'), 'the VM'),
      },
    },
    async (request, reply) => {
      const answer = await executeCommand(services, {
        vmId: request.params.vm,
        command: { type: 'DeclareGuestProfile', guest: request.body },
        status: 200,
        represent: ({ state }) => ({ body: vmResource(state, baseUrlOf(request, publicUrl)) }),
        ...commandContext(request),
      });
      return sendAnswer(reply, answer);
    },
  );
};
