// Buses: pxb-pcie root complexes, PCIe root ports, switch ports and PCI bridges.

import { Type } from '@sinclair/typebox';
import { ADDABLE_BUS_TYPES } from '../../domain/topology/types.js';
import { Body, Id, Listed, Nullable, OneOf } from './common.js';

const BusNumber = (description: string) => Type.Integer({ minimum: 0, maximum: 255, description });

export const AddBusBody = Body(
  {
    id: Id('bus id (QEMU id), e.g. pcie.1 or pcie.port1', 'pcie.1'),
    type: OneOf(
      ADDABLE_BUS_TYPES,
      'pxb-pcie: an extra root complex on pcie.0; pcie-root-port: a port on a root bus; x3130-upstream and xio3130-downstream: the upstream and downstream ports of a PCIe switch; pcie-pci-bridge: a PCIe-to-PCI bridge; pci-bridge: a PCI-to-PCI bridge (the last two open a conventional PCI bus)',
    ),
    busNr: Type.Optional(BusNumber('pxb-pcie: its root bus number (bus_nr)')),
    bus: Type.Optional(
      Id(
        'the bus it sits on: pcie.0 for a pxb-pcie (default), a root bus for a root port, any bus for a switch port or bridge',
        'pcie.1',
      ),
    ),
    secondaryBusNr: Type.Optional(
      BusNumber('pcie-root-port, switch ports and bridges: the number guest firmware gave its secondary bus'),
    ),
    slot: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 31, description: 'switch ports and bridges: its slot on bus' }),
    ),
    function: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 7, description: 'switch ports and bridges: its function (default 0)' }),
    ),
    bypassIommu: Type.Optional(
      Type.Boolean({
        description: 'pxb-pcie bypass_iommu=on: no IOMMU translates the devices below it (default false)',
      }),
    ),
  },
  {
    examples: {
      pxb: {
        summary: 'first session, step 2: pxb-pcie pcie.1 with bus_nr 1',
        value: { id: 'pcie.1', type: 'pxb-pcie', busNr: 1 },
      },
      rootPort: {
        summary: 'first session, step 3: root port pcie.port1 on pcie.1, secondary bus 2',
        value: { id: 'pcie.port1', type: 'pcie-root-port', bus: 'pcie.1', secondaryBusNr: 2 },
      },
      pciBridge: {
        summary:
          'a PCIe-to-PCI bridge on pcie.1 beside pcie.port1 (at 01:01.0): EDK2 numbers its secondary bus 3, after the port',
        value: { id: 'pci.bridge1', type: 'pcie-pci-bridge', bus: 'pcie.1', slot: 1, secondaryBusNr: 3 },
      },
    },
  },
);

export const BusParams = Type.Object({ vm: Id('VM id', 'vm1'), bus: Id('bus id', 'pcie.1') });

export const BusSchema = Type.Object(
  {
    id: Type.String(),
    ...Listed,
    type: OneOf(['pcie-root', ...ADDABLE_BUS_TYPES], 'bus type'),
    busNumber: Type.Integer({
      description: 'pcie.0: 0; pxb-pcie: bus_nr; root port, switch port or bridge: its secondary bus number',
    }),
    bus: Nullable(Type.String({ description: 'the bus it sits on' })),
    rootBus: Type.String({ description: 'the root bus (pcie.0 or a pxb-pcie) it belongs to' }),
    bypassIommu: Type.Boolean({
      description:
        "the host bridge's bypass_iommu: a pxb-pcie's own, pcie.0's default_bus_bypass_iommu; false for a root port (its root bus decides)",
    }),
    slot: Type.Optional(Type.Integer({ description: 'switch ports and bridges: its slot on bus' })),
    function: Type.Optional(Type.Integer({ description: 'switch ports and bridges: its function on bus' })),
    conventional: Type.Optional(
      Type.Boolean({ description: 'true for a pcie-pci-bridge or pci-bridge: its secondary bus is conventional PCI' }),
    ),
  },
  { $id: 'Bus', description: 'a PCI or PCIe bus of the VM' },
);
