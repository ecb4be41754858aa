// GET /v1/vms/{vm}/topology.svg: the VM as a graph. Root buses side by side (pcie.0 first, each
// pxb-pcie joined to it by the host-bridge rail), under each the SMMU that covers its buses (accel
// marked), then root ports and devices with their stream ids; the ITS (or GICv2m) in the corner.
// design/svg-picture.md recommends Graphviz (@viz-js/viz) here; topology-layout.ts says why a
// hand-written layout is used instead.

import { INK, MUTED, RULE } from './palette.js';
import { GROUP_GAP, MARGIN, SLOT_WIDTH, topologyLayout, type RootGroup } from './topology-layout.js';
import type { BusView, DeviceView, SmmuView, VirtioIommuView, VmView } from './topology-view.js';
import { el, fittedText, svgDocument, type SvgChild, type SvgElement } from './svg.js';

const FONT = 11;
const LINE = 14;
const PAD = 8;
const ITS_WIDTH = 300;

// Rows, top to bottom.
const TITLE_Y = MARGIN;
const RAIL_Y = 92;
const BAR_Y = 112;
const BAR_HEIGHT = 40;
const BAND_Y = BAR_Y + BAR_HEIGHT + 10;
const BAND_HEIGHT = 3 * LINE + 2 * PAD - 2;
const LEVEL_A_Y = BAND_Y + BAND_HEIGHT + 30;
const NODE_HEIGHT = 4 * LINE + 2 * PAD - 4;
const LEVEL_B_Y = LEVEL_A_Y + NODE_HEIGHT + 34;

const ACCEL = { fill: '#ede7f6', stroke: '#4527a0' };
const EMULATED = { fill: '#e3f2fd', stroke: '#1565c0' };
const VIRTIO_IOMMU = { fill: '#e8f5e9', stroke: '#2e7d32' };

export function topologyPicture(vm: VmView): string {
  const layout = topologyLayout(vm);
  const width = Math.max(layout.width, ITS_WIDTH + 2 * MARGIN + 420);
  const height = (layout.hasPortLevel ? LEVEL_B_Y + NODE_HEIGHT : LEVEL_A_Y + NODE_HEIGHT) + MARGIN + 8;
  const title = `Topology of VM ${vm.id} at version ${vm.version}`;

  const body: SvgChild[] = [
    fittedText(title, width - ITS_WIDTH - 3 * MARGIN, {
      x: MARGIN,
      y: TITLE_Y + 16,
      'font-size': 16,
      'font-weight': 'bold',
      fill: INK,
    }),
    fittedText(boardLine(vm), width - ITS_WIDTH - 3 * MARGIN, {
      x: MARGIN,
      y: TITLE_Y + 36,
      'font-size': 12,
      fill: MUTED,
    }),
    msiController(vm, width - MARGIN - ITS_WIDTH, TITLE_Y),
    hostBridgeRail(layout.groups),
    ...layout.groups.map((group) => rootGroup(group, vm.virtioIommu ?? undefined)),
  ];
  return svgDocument({ title, desc: describeTopology(vm, layout.groups), width, height, body });
}

function boardLine(vm: VmView): string {
  const parts = [`GICv${vm.gicVersion ?? 3}`, vm.kvm === false ? 'TCG' : 'KVM'];
  if (vm.qemu?.version || vm.qemu?.package)
    parts.push(
      `QEMU ${[vm.qemu.version, vm.qemu.package].filter(Boolean).join(' ')}${vm.qemu.behaviour ? ` (${vm.qemu.behaviour})` : ''}`,
    );
  return parts.join(' · ');
}

function msiController(vm: VmView, x: number, y: number): SvgElement {
  const kind = vm.msiController ?? (vm.its ? 'its' : 'none');
  const lines =
    kind === 'its'
      ? [
          `vITS (GICv3 ITS)`,
          `GITS_TRANSLATER ${vm.msiGpa ?? '?'} (msi-gpa)`,
          `host ITS ${vm.hostItsBase ?? 'not recorded'}`,
        ]
      : kind === 'gicv2m'
        ? ['GICv2m (no ITS)', `MSI by GSI; doorbell ${vm.msiGpa ?? '?'}`, 'no MSI translation (R17)']
        : ['no MSI controller', 'GICv3 without an ITS', 'no MSI translation (R17)'];
  return el(
    'g',
    { 'data-kind': kind === 'its' ? 'its' : 'msi-controller', 'data-id': kind },
    el('rect', {
      x,
      y,
      width: ITS_WIDTH,
      height: 3 * LINE + 2 * PAD,
      rx: 6,
      fill: '#fff8e1',
      stroke: '#ff8f00',
      'stroke-width': 1.5,
    }),
    lines.map((line, i) =>
      fittedText(line, ITS_WIDTH - 2 * PAD, {
        x: x + PAD,
        y: y + PAD + FONT + i * LINE,
        'font-size': FONT,
        'font-weight': i === 0 ? 'bold' : undefined,
        fill: INK,
      }),
    ),
  );
}

/** pxb-pcie devices sit on pcie.0: a rail from pcie.0 over to each of them. */
function hostBridgeRail(groups: readonly RootGroup[]): SvgChild {
  const [root, ...expanders] = groups;
  if (root === undefined || expanders.length === 0) return undefined;
  const drop = (g: RootGroup) => g.x + 24;
  const last = expanders.at(-1)!;
  return el(
    'g',
    { 'data-kind': 'host-bridge-rail' },
    el('path', {
      d: `M ${drop(root)} ${BAR_Y} V ${RAIL_Y} H ${drop(last)}`,
      fill: 'none',
      stroke: MUTED,
      'stroke-width': 2,
    }),
    expanders.map((g) =>
      el('line', { x1: drop(g), y1: RAIL_Y, x2: drop(g), y2: BAR_Y, stroke: MUTED, 'stroke-width': 2 }),
    ),
    fittedText('pxb-pcie on pcie.0', GROUP_GAP + 200, {
      x: drop(root) + 6,
      y: RAIL_Y - 5,
      'font-size': 10,
      fill: MUTED,
    }),
  );
}

function rootGroup(group: RootGroup, viommu: VirtioIommuView | undefined): SvgElement {
  const { bus, smmu } = group;
  const translatedByViommu = viommu !== undefined && bus.bypassIommu !== true;
  const colours =
    bus.bypassIommu === true
      ? undefined
      : smmu !== undefined
        ? smmu.accel
          ? ACCEL
          : EMULATED
        : translatedByViommu
          ? VIRTIO_IOMMU
          : undefined;
  const children: SvgChild[] = [
    el(
      'g',
      { 'data-kind': bus.type === 'pxb-pcie' ? 'pxb-pcie' : 'root-complex', 'data-id': bus.id },
      el('rect', {
        x: group.x,
        y: BAR_Y,
        width: group.width,
        height: BAR_HEIGHT,
        rx: 4,
        fill: '#eceff1',
        stroke: '#37474f',
        'stroke-width': 1.5,
      }),
      fittedText(bus.id, group.width - 2 * PAD, {
        x: group.x + PAD,
        y: BAR_Y + 16,
        'font-size': 12,
        'font-weight': 'bold',
        fill: INK,
      }),
      fittedText(
        bus.type === 'pxb-pcie' ? `pxb-pcie, bus_nr ${bus.busNumber}` : `root complex, bus ${bus.busNumber}`,
        group.width - 2 * PAD,
        { x: group.x + PAD, y: BAR_Y + 31, 'font-size': 10, fill: MUTED },
      ),
    ),
    viommu !== undefined ? virtioIommuBand(group, viommu) : smmuBand(group, smmu),
  ];
  const top = BAND_Y + BAND_HEIGHT;
  for (const { device, x } of group.devices) {
    children.push(link(x + SLOT_WIDTH / 2, top, LEVEL_A_Y), deviceNode(device, x, LEVEL_A_Y, colours?.stroke));
  }
  for (const node of group.ports) {
    children.push(link(node.x + SLOT_WIDTH / 2, top, LEVEL_A_Y), portNode(node.port, node.x, LEVEL_A_Y));
    for (const { device, x } of node.devices) {
      children.push(
        elbow(node.x + SLOT_WIDTH / 2, LEVEL_A_Y + NODE_HEIGHT, x + SLOT_WIDTH / 2, LEVEL_B_Y),
        deviceNode(device, x, LEVEL_B_Y, colours?.stroke),
      );
    }
  }
  return el('g', { 'data-root-bus': bus.id }, children);
}

function smmuBand(group: RootGroup, smmu: SmmuView | undefined): SvgElement {
  const textWidth = group.width - 2 * PAD;
  const line = (i: number) => BAND_Y + PAD + FONT + i * LINE - 1;
  const covered =
    group.bus.bypassIommu === true
      ? `bypass_iommu=on: translates none of ${group.covered.map((b) => b.id).join(', ')}`
      : `covers ${group.covered.map((b) => b.id).join(', ')} (bus ${[...new Set(group.covered.map((b) => b.busNumber))].join(', ')})`;
  if (smmu === undefined) {
    return el(
      'g',
      { 'data-kind': 'no-smmu', 'data-id': group.bus.id },
      el('rect', {
        x: group.x,
        y: BAND_Y,
        width: group.width,
        height: BAND_HEIGHT,
        rx: 4,
        fill: '#ffffff',
        stroke: RULE,
        'stroke-width': 1,
        'stroke-dasharray': '4 3',
      }),
      fittedText('no vIOMMU (R1)', textWidth, {
        x: group.x + PAD,
        y: line(0),
        'font-size': FONT,
        'font-weight': 'bold',
        fill: MUTED,
      }),
      fittedText('MSIs reach the doorbell untranslated', textWidth, {
        x: group.x + PAD,
        y: line(1),
        'font-size': 10,
        fill: MUTED,
      }),
    );
  }
  const colours = smmu.accel ? ACCEL : EMULATED;
  const details = [
    'arm-smmuv3',
    smmu.accel ? 'accel=on' : 'emulated',
    smmu.stage ? `stage ${smmu.stage}` : undefined,
    smmu.oas ? `OAS ${smmu.oas}` : undefined,
  ]
    .filter(Boolean)
    .join(' · ');
  return el(
    'g',
    {
      'data-kind': 'smmu',
      'data-id': smmu.id,
      'data-accel': String(smmu.accel),
      'data-covers': group.covered.map((b) => b.id).join(' '),
    },
    el('rect', {
      x: group.x,
      y: BAND_Y,
      width: group.width,
      height: BAND_HEIGHT,
      rx: 4,
      fill: colours.fill,
      stroke: colours.stroke,
      'stroke-width': smmu.accel ? 3 : 1.5,
    }),
    smmu.accel &&
      el(
        'text',
        {
          x: group.x + group.width - PAD,
          y: line(0),
          'font-size': 11,
          'font-weight': 'bold',
          'text-anchor': 'end',
          fill: colours.stroke,
        },
        'ACCEL',
      ),
    fittedText(smmu.id, textWidth - (smmu.accel ? 48 : 0), {
      x: group.x + PAD,
      y: line(0),
      'font-size': 12,
      'font-weight': 'bold',
      fill: INK,
    }),
    fittedText(details, textWidth, { x: group.x + PAD, y: line(1), 'font-size': 10, fill: INK }),
    fittedText(covered, textWidth, { x: group.x + PAD, y: line(2), 'font-size': 10, fill: MUTED }),
  );
}

/**
 * A root bus under the VM's virtio-iommu: the band names it, its reserved MSI region and what it
 * covers, or says that the bus bypasses it (bypass_iommu=on).
 */
function virtioIommuBand(group: RootGroup, viommu: VirtioIommuView): SvgElement {
  const textWidth = group.width - 2 * PAD;
  const line = (i: number) => BAND_Y + PAD + FONT + i * LINE - 1;
  const bypass = group.bus.bypassIommu === true;
  const msi = viommu.reservedRegions.find((r) => r.type === 'msi');
  const covered = group.covered.map((b) => b.id).join(', ');
  const lines = bypass
    ? ['bypass_iommu=on', `not translated by ${viommu.device}`, 'MSIs reach the doorbell as written']
    : [
        `${viommu.device} (virtio-iommu)`,
        msi ? `MSI region ${msi.start}-${msi.end}: identity` : 'no MSI region (no MSI controller)',
        `covers ${covered}`,
      ];
  return el(
    'g',
    {
      'data-kind': bypass ? 'iommu-bypass' : 'virtio-iommu',
      'data-id': viommu.device,
      'data-covers': bypass ? '' : group.covered.map((b) => b.id).join(' '),
    },
    el('rect', {
      x: group.x,
      y: BAND_Y,
      width: group.width,
      height: BAND_HEIGHT,
      rx: 4,
      fill: bypass ? '#ffffff' : VIRTIO_IOMMU.fill,
      stroke: bypass ? RULE : VIRTIO_IOMMU.stroke,
      'stroke-width': 1.5,
      ...(bypass ? { 'stroke-dasharray': '4 3' } : {}),
    }),
    lines.map((text, i) =>
      fittedText(text, textWidth, {
        x: group.x + PAD,
        y: line(i),
        'font-size': i === 0 ? 12 : 10,
        'font-weight': i === 0 ? 'bold' : undefined,
        fill: i === 0 ? INK : MUTED,
      }),
    ),
  );
}

function portNode(port: BusView, x: number, y: number): SvgElement {
  return box({ 'data-kind': 'root-port', 'data-id': port.id }, x, y, '#f5f5f5', '#616161', [
    port.id,
    'pcie-root-port',
    `secondary bus ${port.busNumber}`,
  ]);
}

function deviceNode(device: DeviceView, x: number, y: number, smmuColour: string | undefined): SvgElement {
  const bdf = `${hex2(device.busNumber)}:${hex2(device.slot)}.${device.function}`;
  const lines = [
    device.id,
    device.driver,
    `SID ${device.streamId} · ${bdf}`,
    device.host
      ? `host ${device.host}`
      : device.smmu
        ? `behind ${device.smmu}`
        : device.virtioIommu
          ? `behind ${device.virtioIommu}`
          : device.driver === 'virtio-iommu-pci'
            ? 'the virtio-iommu'
            : 'no vIOMMU',
  ];
  return box(
    { 'data-kind': 'device', 'data-id': device.id, 'data-stream-id': device.streamId },
    x,
    y,
    '#ffffff',
    smmuColour ?? '#616161',
    lines,
  );
}

const hex2 = (n: number) => n.toString(16).padStart(2, '0');

function box(
  attrs: Record<string, string>,
  x: number,
  y: number,
  fill: string,
  stroke: string,
  lines: readonly string[],
): SvgElement {
  return el(
    'g',
    attrs,
    el('title', {}, lines.join('\n')),
    el('rect', { x, y, width: SLOT_WIDTH, height: NODE_HEIGHT, rx: 4, fill, stroke, 'stroke-width': 1.5 }),
    lines.map((line, i) =>
      fittedText(line, SLOT_WIDTH - 2 * PAD, {
        x: x + PAD,
        y: y + PAD + FONT + i * LINE - 1,
        'font-size': i === 0 ? 12 : 10,
        'font-weight': i === 0 ? 'bold' : undefined,
        fill: i === 0 ? INK : MUTED,
      }),
    ),
  );
}

const link = (x: number, y1: number, y2: number) =>
  el('line', { x1: x, y1, x2: x, y2, stroke: MUTED, 'stroke-width': 1.5 });

function elbow(x1: number, y1: number, x2: number, y2: number): SvgElement {
  const mid = (y1 + y2) / 2;
  return el('path', { d: `M ${x1} ${y1} V ${mid} H ${x2} V ${y2}`, fill: 'none', stroke: MUTED, 'stroke-width': 1.5 });
}

function describeTopology(vm: VmView, groups: readonly RootGroup[]): string {
  const smmus = vm.smmus.map((s) => `${s.id} on ${s.primaryBus}${s.accel ? ' (accel)' : ''}`);
  const devices = vm.devices.map(
    (d) =>
      `${d.id} (${d.driver}) on ${d.bus}, stream id ${d.streamId}${d.smmu ? `, behind ${d.smmu}` : d.virtioIommu ? `, behind ${d.virtioIommu}` : ''}`,
  );
  const viommu = vm.virtioIommu;
  return [
    `VM ${vm.id} at version ${vm.version}: ${groups.length} root bus${groups.length === 1 ? '' : 'es'} (${groups.map((g) => g.bus.id).join(', ')}).`,
    smmus.length > 0 ? `SMMUs: ${smmus.join('; ')}.` : viommu ? '' : 'No SMMU.',
    viommu
      ? `virtio-iommu ${viommu.device} translates ${viommu.covers.join(', ') || 'no device'}${viommu.bypassedBuses.length > 0 ? ` (bypassed: ${viommu.bypassedBuses.join(', ')})` : ''}.`
      : '',
    devices.length > 0 ? `Devices: ${devices.join('; ')}.` : 'No devices.',
    vm.its ? `MSIs go to the vITS doorbell ${vm.msiGpa ?? ''}.`.replace(' .', '.') : 'No ITS.',
  ]
    .filter((part) => part !== '')
    .join(' ');
}
