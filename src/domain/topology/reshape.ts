// commandsToReach(current, target) -> the commands that turn a VM's topology into another's, in
// an order decide accepts: what goes first (devices, then SMMUs, then buses from the leaves up),
// then the board and the accel modes, then what comes (buses from the root down, SMMUs, devices).
// A re-import decides them on the VM's state and appends them as one change.
//
// A part that stays keeps its guest state (STEs, mappings, vectors). A part whose place or kind
// changed is taken out and put back, as QEMU would create it anew: a device that moved to another
// slot is another function with another stream id, and starts from its defaults; everything
// behind a bus that is taken out is taken out with it (RemoveBus refuses orphans).

import { PCIE_ROOT_BUS } from './defaults.js';
import { diffTopology } from './diff.js';
import type { Bus, Command, VmState } from './types.js';

/** The fields ChangeBoard sets: those a source states (-machine). */
const BOARD_FIELDS = ['ramSize', 'gicVersion', 'its', 'kvm', 'defaultBusBypassIommu'] as const;

function depth(state: VmState, bus: Bus): number {
  let n = 0;
  for (let b: Bus | undefined = bus; b?.parent != null; b = state.buses.get(b.parent)) n += 1;
  return n;
}

function addBusCommand(bus: Bus): Command {
  const base = { type: 'AddBus' as const, busId: bus.id, bus: bus.parent ?? PCIE_ROOT_BUS };
  if (bus.type === 'pxb-pcie') return { ...base, busType: 'pxb-pcie', busNr: bus.number, bypassIommu: bus.bypassIommu };
  if (bus.type === 'pcie-root-port') return { ...base, busType: 'pcie-root-port', secondaryBusNr: bus.number };
  if (bus.type === 'pcie-root') throw new Error('pcie.0 is never added');
  return { ...base, busType: bus.type, slot: bus.slot, function: bus.function, secondaryBusNr: bus.number };
}

export function commandsToReach(current: VmState, target: VmState): Command[] {
  const changes = diffTopology(current, target);
  const out = { bus: new Set<string>(), smmu: new Set<string>(), device: new Set<string>() };
  const accel: { smmuId: string; enabled: boolean }[] = [];
  const board: Partial<Record<(typeof BOARD_FIELDS)[number], unknown>> = {};
  const declarations: Command[] = [];
  for (const change of changes) {
    if (change.kind === 'board') {
      for (const key of BOARD_FIELDS)
        if (change.after !== undefined && key in change.after) board[key] = change.after[key];
      // default_bus_bypass_iommu: pcie.0's devices and SMMU go and come back (ChangeBoard's rule).
      if (change.after !== undefined && 'defaultBusBypassIommu' in change.after) {
        for (const device of current.devices.values())
          if (current.buses.get(device.bus)?.rootBus === PCIE_ROOT_BUS) out.device.add(device.id);
        for (const smmu of current.smmus.values()) if (smmu.primaryBus === PCIE_ROOT_BUS) out.smmu.add(smmu.id);
      }
    } else if (change.kind === 'qemu') {
      if (target.qemu !== null) declarations.push({ type: 'DeclareQemuBuild', qemu: target.qemu.declared });
    } else if (change.kind === 'guest') {
      if (target.guest !== null) declarations.push({ type: 'DeclareGuestProfile', guest: target.guest.declared });
    } else if (change.op === 'remove') out[change.kind].add(change.id);
    else if (change.op === 'change') {
      const onlyAccel = change.kind === 'smmu' && Object.keys(change.after ?? {}).every((k) => k === 'accel');
      if (onlyAccel) accel.push({ smmuId: change.id, enabled: change.after!.accel as boolean });
      else out[change.kind].add(change.id);
    }
  }
  // Everything behind a bus taken out goes with it, down to the leaves.
  for (let grew = true; grew; ) {
    grew = false;
    for (const bus of current.buses.values())
      if (bus.parent !== null && out.bus.has(bus.parent) && !out.bus.has(bus.id)) {
        out.bus.add(bus.id);
        grew = true;
      }
  }
  for (const smmu of current.smmus.values()) if (out.bus.has(smmu.primaryBus)) out.smmu.add(smmu.id);
  for (const device of current.devices.values()) if (out.bus.has(device.bus)) out.device.add(device.id);

  const commands: Command[] = [];
  for (const id of [...out.device].sort()) commands.push({ type: 'DetachDevice', deviceId: id });
  for (const id of [...out.smmu].sort()) commands.push({ type: 'RemoveSmmu', smmuId: id });
  const leavingBuses = [...out.bus].map((id) => current.buses.get(id)!);
  leavingBuses.sort((a, b) => depth(current, b) - depth(current, a) || a.id.localeCompare(b.id));
  for (const bus of leavingBuses) commands.push({ type: 'RemoveBus', busId: bus.id });
  commands.push(...declarations);
  // accel off before the board (kvm=off refuses an accel SMMU), accel on after it (accel needs kvm).
  const stays = (id: string) => !out.smmu.has(id);
  for (const a of accel.filter((x) => !x.enabled && stays(x.smmuId)))
    commands.push({ type: 'SetSmmuAccel', smmuId: a.smmuId, enabled: false });
  if (Object.keys(board).length > 0) commands.push({ type: 'ChangeBoard', ...board } as Command);
  for (const a of accel.filter((x) => x.enabled && stays(x.smmuId)))
    commands.push({ type: 'SetSmmuAccel', smmuId: a.smmuId, enabled: true });
  // The target's maps hold parts in the order they were created, so a bus comes after its parent.
  const kept = (map: ReadonlyMap<string, unknown>, set: Set<string>, id: string) => map.has(id) && !set.has(id);
  for (const bus of target.buses.values())
    if (bus.id !== PCIE_ROOT_BUS && !kept(current.buses, out.bus, bus.id)) commands.push(addBusCommand(bus));
  for (const smmu of target.smmus.values())
    if (!kept(current.smmus, out.smmu, smmu.id))
      commands.push({
        type: 'AddSmmu',
        smmuId: smmu.id,
        primaryBus: smmu.primaryBus,
        accel: smmu.accel.value,
        stage: smmu.stage,
        oas: smmu.oas,
      });
  for (const device of target.devices.values())
    if (!kept(current.devices, out.device, device.id))
      commands.push({
        type: 'AttachDevice',
        deviceId: device.id,
        driver: device.driver,
        bus: device.bus,
        slot: device.slot,
        function: device.function,
        ...(device.host === null ? {} : { host: device.host }),
        ...(device.hostFd ? { hostFd: true } : {}),
        ...(device.iommufd === null ? {} : { iommufd: device.iommufd }),
      });
  return commands;
}
