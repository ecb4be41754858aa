// QEMU builds (contract v1.2, domain reference §10): the rules Q1-Q8 as data, and a classification
// that stores nothing.

import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { classifyQemuBuild } from '../../domain/qemu-build/classify.js';
import { parseQemuDeclaration } from '../../domain/qemu-build/declaration.js';
import { QEMU_BUILD_RULES } from '../../domain/qemu-build/rules.js';
import { sendJson, type RouteOptions } from '../http.js';
import { classificationResource } from '../representations.js';
import { errorResponses, Query } from '../schemas/common.js';
import { QemuBody, QemuRulesSchema } from '../schemas/qemu-build.js';

export const qemuBuildRoutes: FastifyPluginAsyncTypebox<RouteOptions> = async (app) => {
  app.get(
    '/v1/qemu-builds',
    {
      schema: {
        operationId: 'listQemuBuildRules',
        tags: ['qemu-builds'],
        summary: 'The classification rules Q1-Q8 of domain reference §10, in evaluation order',
        description: 'The first rule that applies to a declared build gives its behaviour.',
        querystring: Query({}),
        response: {
          200: { description: 'the rules', content: { 'application/json': { schema: QemuRulesSchema } } },
          ...errorResponses(400),
        },
      },
    },
    (_request, reply) => {
      const results = QEMU_BUILD_RULES.map(({ rule, when, behaviour, basis, evidence }) => ({
        rule,
        when,
        behaviour,
        basis,
        evidence,
      }));
      sendJson(reply, { count: results.length, results });
    },
  );

  app.post(
    '/v1/qemu-builds/classify',
    {
      schema: {
        operationId: 'classifyQemuBuild',
        tags: ['qemu-builds'],
        summary: 'Classify a QEMU build (rules Q1-Q8) without storing anything',
        description:
          'A malformed field is a 400 naming it (errors[].pointer such as /version or /queryVersion/qemu/micro). When forms disagree, queryVersion (the running VM) wins over version and package, which win over versionText; conflicts lists the others.',
        body: QemuBody,
        response: {
          200: {
            description: 'the classification',
            content: { 'application/json': { schema: Type.Ref('QemuClassification') } },
          },
          ...errorResponses(400, 415),
        },
      },
    },
    (request, reply) => sendJson(reply, classificationResource(classifyQemuBuild(parseQemuDeclaration(request.body)))),
  );
};
