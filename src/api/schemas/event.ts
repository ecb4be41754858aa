// Events as the log shows them.

import { Type } from '@sinclair/typebox';
import { EVENT_TYPES } from '../../db/shared/event-codec.js';
import { OneOf } from './common.js';

/** A re-import's events as the log shows them (contract v1.3): what an integrator receives. */
const REIMPORT_EXAMPLE_METADATA = {
  occurredAt: '2026-12-06T10:15:00.000Z',
  actor: 'lab-sync',
  requestId: 'req-42',
  importedFrom: { format: 'libvirt-xml', sha256: '9f2c1e0b7d4a5c3e8f6a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60' },
};
const EXAMPLES = [
  {
    url: 'http://127.0.0.1:8080/v1/events?after=56&limit=1',
    display: '#57 DeviceDetached (vm1, version 12)',
    position: 57,
    streamId: 'vm1',
    streamVersion: 12,
    eventId: '0b0e6a52-4c1d-4b8e-9d61-2f1f7c3a9e10',
    type: 'DeviceDetached',
    schemaVersion: 1,
    data: { deviceId: 'hostdev1' },
    metadata: REIMPORT_EXAMPLE_METADATA,
  },
  {
    url: 'http://127.0.0.1:8080/v1/events?after=57&limit=1',
    display: '#58 BusRemoved (vm1, version 13)',
    position: 58,
    streamId: 'vm1',
    streamVersion: 13,
    eventId: '5d3b7e41-9a0c-4f26-8c3e-71d2a4b5c6e7',
    type: 'BusRemoved',
    schemaVersion: 1,
    data: { busId: 'pcie.port2' },
    metadata: REIMPORT_EXAMPLE_METADATA,
  },
  {
    url: 'http://127.0.0.1:8080/v1/events?after=58&limit=1',
    display: '#59 BoardChanged (vm1, version 14)',
    position: 59,
    streamId: 'vm1',
    streamVersion: 14,
    eventId: 'c2a9f0d3-6b7e-4e1a-a8c4-3d5e6f708192',
    type: 'BoardChanged',
    schemaVersion: 1,
    data: { ramSize: '0x0000000400000000' },
    metadata: REIMPORT_EXAMPLE_METADATA,
  },
];

const TYPES_TEXT =
  'VmDefined, BoardChanged (the -machine options a re-import changed: the fields given), BusAdded, BusRemoved, ' +
  'SmmuAdded, SmmuRemoved, SmmuAccelModeChanged, SmmuGuestStateChanged, DeviceAttached, DeviceDetached, ' +
  'SteConfigured, IovaMapped, IovaUnmapped, MsiVectorProgrammed, QemuBuildDeclared, GuestProfileDeclared, VmDecommissioned';

export const EventSchema = Type.Object(
  {
    url: Type.String({ description: 'absolute link to the event: the one-event page of the log that holds it' }),
    display: Type.String({ examples: ['#3 BusAdded (vm1, version 3)'] }),
    position: Type.Integer({ description: 'global, gap-free position across all VMs' }),
    streamId: Type.String({ description: 'the VM id' }),
    streamVersion: Type.Integer({ description: 'the version of the VM this event made' }),
    eventId: Type.String(),
    type: OneOf(EVENT_TYPES, `the event type: ${TYPES_TEXT}`),
    schemaVersion: Type.Integer(),
    data: Type.Object(
      {},
      { additionalProperties: true, description: 'the event data; 64-bit values as 0x-hex strings' },
    ),
    metadata: Type.Object({
      occurredAt: Type.String({ format: 'date-time' }),
      actor: Type.String({ description: 'the name of the token that appended the event' }),
      tokenId: Type.Optional(Type.String({ description: 'the id of that token' })),
      onBehalfOf: Type.Optional(
        Type.String({ description: "the client's X-Actor: whom the token's holder acted for" }),
      ),
      requestId: Type.String(),
      reason: Type.Optional(Type.String()),
      importedFrom: Type.Optional(
        Type.Object(
          {
            format: Type.String({ description: 'qemu-cmdline or libvirt-xml' }),
            sha256: Type.String({ description: 'SHA-256 of the source text, lowercase hex' }),
            emulator: Type.Optional(
              Type.String({
                description:
                  "the QEMU binary the source names (libvirt's <emulator>, the program): a name, not a build",
              }),
            ),
          },
          {
            description:
              'the text the event came from: POST /v1/vm-imports (the VM created) or POST /v1/vms/{vm}/imports (a re-import)',
          },
        ),
      ),
    }),
  },
  { $id: 'Event', description: 'a stored event', examples: EXAMPLES },
);
