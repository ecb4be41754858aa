// Events as the log shows them.

import { Type } from '@sinclair/typebox';

export const EventSchema = Type.Object(
  {
    url: Type.String({ description: 'absolute link to the event: the one-event page of the log that holds it' }),
    display: Type.String({ examples: ['#3 BusAdded (vm1, version 3)'] }),
    position: Type.Integer({ description: 'global, gap-free position across all VMs' }),
    streamId: Type.String({ description: 'the VM id' }),
    streamVersion: Type.Integer({ description: 'the version of the VM this event made' }),
    eventId: Type.String(),
    type: Type.String({ examples: ['VmDefined'] }),
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
          { description: 'the text POST /v1/vm-imports created the VM from' },
        ),
      ),
    }),
  },
  { $id: 'Event', description: 'a stored event' },
);
