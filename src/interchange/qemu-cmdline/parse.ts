// A qemu-system-aarch64 command line -> a Draft of the VM (see ../draft.ts) and the report of
// what each option became or why it was ignored. Pure: text in, data out.
//
// words (split.ts) -> options (argv.ts) -> one handler per option name (option-handlers.ts);
// then, as QEMU does once the machine exists, the board's NICs (nics.ts) and the -device options
// in creation order (creation.ts), one function per device kind (device.ts, device-kinds.ts),
// all sharing one ParseContext (context.ts); then what holds for the whole line (finish).
//
// Pointers: `token` N is the N-th word of the shell-split line, counting from 0 (the program,
// unless VAR=value assignments come before it).

import type { Draft, DraftSmmu } from '../draft.js';
import { PCIE_ROOT } from '../draft.js';
import { emulatorOf } from '../emulator.js';
import { InterchangeError, malformed, notModelled, type SourceRef } from '../report.js';
import { commandLineOptions, optionText } from './argv.js';
import { type ParseContext, nameLater, nameNameless, newContext } from './context.js';
import { claimDeviceId, firstId, inCreationOrder } from './creation.js';
import { createDevice } from './device.js';
import { createBoardNics } from './nics.js';
import { readOption } from './option-handlers.js';
import { shellWords } from './split.js';

export function parseQemuCmdline(source: string): Draft {
  const words = shellWords(source);
  if (words.length === 0) throw malformed('the command line is empty', { token: 0 });
  const ctx = newContext();
  const { program, programAt, options, strays } = commandLineOptions(words);
  ctx.programAt = programAt;
  ctx.board.at = programAt;
  for (const o of strays)
    ctx.report.ignored.push({
      at: o.at,
      text: o.name,
      reason: 'not an option (a stray word, a redirection or a variable)',
    });
  checkProgram(program, programAt);
  if (program !== undefined) ctx.report.emulator = emulatorOf(program, programAt, 'program');
  for (const o of options) readOption(ctx, o);
  if (ctx.machine === undefined)
    throw malformed('no -machine virt: QEMU has no default machine for arm64', ctx.programAt);
  createDevices(ctx);
  return finish(ctx);
}

/** Another qemu-system-* emulates another architecture, and none of them has the arm64 virt board. */
function checkProgram(program: string | undefined, at: SourceRef): void {
  if (program === undefined) return;
  const base = program.split('/').pop() ?? program;
  if (/^qemu-system-/.test(base) && base !== 'qemu-system-aarch64')
    throw notModelled(`${base}: doorbell models arm64 virt machines (qemu-system-aarch64)`, at);
}

/**
 * vl.c qemu_init: the machine is initialised (its NICs included) before qemu_create_cli_devices
 * creates the -device options, key=value ones first.
 */
function createDevices(ctx: ParseContext): void {
  createBoardNics(ctx);
  for (const { option, opts, json } of inCreationOrder(ctx.deviceOptions)) {
    if (json) claimDeviceId(ctx, firstId(opts), option, true);
    createDevice(ctx, option, opts);
  }
}

/** -machine iommu=smmuv3: the machine SMMU on pcie.0, which no -device arm-smmuv3 may join. */
function addLegacySmmu(ctx: ParseContext): void {
  const legacy = ctx.legacySmmu;
  if (legacy === undefined) return;
  if (ctx.smmus.length > 0)
    throw new InterchangeError(
      'IMPORT_IOMMU_MIXED',
      '-machine iommu=smmuv3 cannot be combined with -device arm-smmuv3 (virt pre_plug: "virt machine already has iommu=smmuv3 set. Doesn\'t support incompatible iommus")',
      ctx.smmus[0]!.at,
    );
  const smmu: DraftSmmu = { id: '', primaryBus: PCIE_ROOT, at: legacy.at };
  const notes = [
    'the legacy machine SMMU sits on pcie.0; its IORT also covers pxb-pcie buses, which the model does not (it covers pcie.0 only)',
  ];
  nameLater(ctx, smmu, 'smmuv3.', (id) => notes.push(`named ${id}`));
  ctx.smmus.push(smmu);
  ctx.report.parts.push({ at: legacy.at, text: '-machine iommu=smmuv3', became: { kind: 'smmu', id: '' }, notes });
}

function finish(ctx: ParseContext): Draft {
  const machine = ctx.machine!;
  addLegacySmmu(ctx);
  ctx.report.parts.unshift({
    at: machine.at,
    text: optionText(machine),
    became: { kind: 'vm', id: 'board' },
    notes: ctx.boardNotes,
  });
  nameNameless(ctx);
  if (ctx.board.kvm === undefined) {
    ctx.board.kvm = false;
    ctx.boardNotes.push('no accel=kvm, -accel kvm or -enable-kvm: QEMU runs TCG, so kvm is false');
  }
  const { board, pxbs, rootPorts, bridges, smmus, devices, report } = ctx;
  return { board, pxbs, rootPorts, bridges, smmus, devices, report };
}
