// The domain-level elements the topology needs: <memory>, <features> (the GIC, ACPI), <iommufd>,
// <os> (the machine type); and the board defaults libvirt fills in when they are absent.
// Everything else at domain level is ignored with its reason.

import type { GicVersion } from '../../domain/topology/types.js';
import { parseBool } from '../qemu-cmdline/options.js';
import { describeAt, InterchangeError, malformed, notModelled } from '../report.js';
import { addPart, ignore, type ParseContext } from './context.js';
import { atOf, attr, child, children, type Element } from './xml.js';

/** What the request may say about the host libvirt would have asked. */
export interface HostAssumptions {
  /** The GIC version libvirt would pick from the host's capabilities (no <gic>, or version='host'). */
  gicVersion?: GicVersion;
}

/**
 * libvirt's unit suffixes, as util/virutil.c virScaleInteger reads them (case-insensitive):
 * 'b', 'byte', 'bytes' are bytes; a letter alone or followed by 'iB' is a power of 1024
 * ('k', 'KiB', 'M', 'MiB', ...); a letter followed by 'B' is a power of 1000 ('KB', 'MB', ...).
 * Anything else is "unknown suffix".
 */
export function unitScale(unit: string): bigint | undefined {
  const u = unit.toLowerCase();
  if (u === 'b' || u === 'byte' || u === 'bytes') return 1n;
  const power = 'kmgtpe'.indexOf(u[0] ?? '') + 1;
  if (power === 0) return undefined;
  const rest = u.slice(1);
  const base = rest === '' || rest === 'ib' ? 1024n : rest === 'b' ? 1000n : undefined;
  return base === undefined ? undefined : base ** BigInt(power);
}

const KIB = 1024n;
/** qemu_domain.c qemuDomainAlignMemorySizes (qemuDomainGetMemorySizeAlignment): 1 MiB on every arch but ppc64. */
const MEMORY_ALIGNMENT_KIB = 1024n;

/**
 * <memory> as QEMU gets it: conf/domain_conf.c virDomainParseMemory scales the value
 * (virScaleInteger, KiB when no unit) and keeps whole KiB, rounding up (VIR_DIV_UP); then
 * qemuDomainAlignMemorySizes rounds the initial memory up to 1 MiB before qemuBuildMemCommandLine
 * writes `-m size=<KiB>k`. Seen in libvirt's aarch64-usb-controller test: 219100 KiB -> size=219136k.
 */
export function libvirtRamBytes(value: bigint, scale: bigint): { bytes: bigint; kib: bigint } {
  const kib = (value * scale + KIB - 1n) / KIB;
  const aligned = ((kib + MEMORY_ALIGNMENT_KIB - 1n) / MEMORY_ALIGNMENT_KIB) * MEMORY_ALIGNMENT_KIB;
  return { bytes: aligned * KIB, kib };
}

export function readMemory(e: Element, ctx: ParseContext): void {
  const at = atOf(e);
  const unit = attr(e, 'unit') ?? 'KiB';
  const scale = unitScale(unit);
  if (scale === undefined)
    throw malformed(
      `<memory unit='${unit}'>: unknown suffix (libvirt's virScaleInteger reads b, KiB, KB, MiB, MB, ...)`,
      at,
    );
  const text = (e.textContent ?? '').trim();
  if (!/^\d+$/.test(text)) throw malformed(`<memory>${text}</memory> is not a whole number`, at);
  const { bytes, kib } = libvirtRamBytes(BigInt(text), scale);
  if (bytes === 0n) throw malformed('<memory> is 0: libvirt requires a memory size', at);
  ctx.board.ramSize = bytes;
  const notes =
    bytes === kib * KIB
      ? []
      : [
          `${text} ${unit} is ${kib} KiB; libvirt aligns it up to ${bytes / KIB} KiB (1 MiB, qemuDomainAlignMemorySizes)`,
        ];
  addPart(ctx, e, 'vm', { id: 'ramSize' }, notes, '<memory>');
}

export function readFeatures(e: Element, ctx: ParseContext): void {
  for (const f of children(e)) {
    if (f.tagName === 'gic') readGic(f, ctx);
    else if (f.tagName === 'acpi') readAcpi(f, ctx);
    else ignore(ctx, f, 'a machine feature the topology does not model', `<features><${f.tagName}>`);
  }
}

/** <gic version='2|3'> as written; 'host' is settled with the other host defaults (settleGic). */
export function readGic(f: Element, ctx: ParseContext): void {
  const version = attr(f, 'version');
  if (version === '2' || version === '3') {
    ctx.board.gicVersion = Number(version) as GicVersion;
    addPart(ctx, f, 'vm', { id: 'gicVersion' }, [], `<gic version='${version}'>`);
  } else if (version === undefined || version === 'host') ctx.gicFromHost = f;
  else throw malformed(`<gic version='${version}'>: libvirt knows 2, 3 and host`, atOf(f));
}

/** <acpi/>: qemu_command.c qemuBuildMachineCommandLine writes acpi=on for it, acpi=off without it. */
export function readAcpi(f: Element, ctx: ParseContext): void {
  ctx.board.acpi = true;
  addPart(ctx, f, 'vm', { id: 'acpi' }, ['-machine acpi=on'], '<features><acpi>');
}

export function readIommufd(e: Element, ctx: ParseContext): void {
  ctx.iommufdDefault = parseBool('enabled', attr(e, 'enabled') ?? 'no', atOf(e));
  addPart(ctx, e, 'iommufd', { id: 'iommufd0' }, ['the default for every <hostdev> (libvirt >= 12.x)'], '<iommufd>');
}

export function readOs(e: Element, ctx: ParseContext): void {
  const machine = attr(child(e, 'type'), 'machine');
  if (machine !== undefined && !/^virt(-\d+\.\d+)?$/.test(machine))
    throw notModelled(`<type machine='${machine}'>: doorbell models the arm64 virt machine`, atOf(e));
  ignore(ctx, e, 'boot and firmware settings: the bus numbering assumes EDK2 (ArmVirtQemu)');
}

export function readName(e: Element, ctx: ParseContext): void {
  ignore(ctx, e, 'the VM id comes from the request (vm)');
}

/** No <acpi/> in <features>: libvirt starts the virt machine with acpi=off (qemuBuildMachineCommandLine). */
export function settleAcpi(ctx: ParseContext): void {
  if (ctx.board.acpi === true) return;
  ctx.board.acpi = false;
  ctx.report.parts[0]?.notes.push('no <features><acpi/>: libvirt starts the machine with acpi=off');
}

/**
 * The GIC when the domain does not name a version. qemu_domain.c
 * qemuDomainDefEnableDefaultFeatures: on the virt machine libvirt picks the highest version the
 * host supports (virQEMUCapsSupportsGICVersion, from the domain capabilities), except that it skips
 * GICv3 for TCG guests (<domain type='qemu'>), whose emulated GICv3 had no MSI controller
 * (bugzilla 1414081), and falls back to GICv2. So a TCG domain gets GICv2, whatever the host; any
 * other type gets what the host has: the import assumes an arm64 KVM host (GICv3 with its ITS) and
 * says so, unless the request names the host's version (gicVersion).
 * <gic version='host'>: QEMU takes the host's version, and refuses it without KVM
 * (hw/arm/virt.c finalize_gic_version: "gic-version=host requires KVM").
 */
export function settleGic(domainType: string | undefined, ctx: ParseContext, host: HostAssumptions): void {
  const requested = host.gicVersion;
  const written = ctx.board.gicVersion;
  const notes = ctx.report.parts[0]?.notes ?? [];
  const gic = ctx.gicFromHost;
  if (written !== undefined) {
    if (requested !== undefined && requested !== written)
      notes.push(`gicVersion ${requested} of the request not used: the domain names <gic version='${written}'>`);
    return;
  }
  const tcg = domainType === 'qemu';
  if (gic !== undefined && attr(gic, 'version') === 'host') {
    if (tcg)
      throw new InterchangeError(
        'IMPORT_NOT_SUPPORTED',
        `${describeAt(atOf(gic))}: <gic version='host'> in a TCG domain (type='qemu'): QEMU refuses it: "gic-version=host requires KVM" (hw/arm/virt.c finalize_gic_version)`,
        atOf(gic),
      );
  } else if (tcg) {
    ctx.board.gicVersion = 2;
    notes.push(
      "no <gic version>: libvirt gives a TCG domain (type='qemu') GICv2 whatever the host (qemuDomainDefEnableDefaultFeatures)",
    );
    if (requested !== undefined && requested !== 2)
      notes.push(`gicVersion ${requested} of the request not used: libvirt does not ask the host for a TCG domain`);
    return;
  }
  const what = gic === undefined ? 'no <gic>' : gicText(gic);
  if (requested !== undefined) {
    ctx.board.gicVersion = requested;
    notes.push(`${what}: the host's GIC is GICv${requested}, as the request says (gicVersion)`);
  } else {
    ctx.board.gicVersion = 3;
    notes.push(
      `${what}: libvirt takes the GIC version from the host's capabilities; assumed GICv3 with an ITS (an arm64 KVM host). Set gicVersion in the request if the host differs`,
    );
  }
  if (gic !== undefined)
    addPart(ctx, gic, 'vm', { id: 'gicVersion' }, [`GICv${ctx.board.gicVersion} from the host`], gicText(gic));
}

const gicText = (gic: Element) => (gic.hasAttribute('version') ? `<gic version='${attr(gic, 'version')}'>` : '<gic>');
