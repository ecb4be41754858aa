// What `doorbell sync` reads from libvirt: the domains of a connection through `virsh -c URI`
// (`list --all --name`, then `dumpxml --domain NAME`), and what each domain is, read from its
// XML before anything is sent: its name, UUID, architecture, machine type and emulator.

import { execFile } from 'node:child_process';
import { attr, child, parseXml } from '../interchange/libvirt-xml/xml.js';
import { CliError, EXIT } from './exit-codes.js';

/** The program to run; VIRSH in the environment overrides it (a wrapper, another build). */
export const VIRSH = process.env.VIRSH ?? 'virsh';

/** Long enough for a remote connection (qemu+ssh://) to answer a list; a hung one is killed. */
const VIRSH_TIMEOUT_MS = 60_000;

/** Thrown when virsh ran but refused: the message is virsh's own first error line. */
export class VirshError extends Error {}

function virsh(uri: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      VIRSH,
      ['-q', '-c', uri, ...args],
      { timeout: VIRSH_TIMEOUT_MS, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error === null) return resolve(stdout);
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'EACCES')
          return reject(
            new CliError(EXIT.usage, `cannot run ${VIRSH}: ${code} (install libvirt-clients, or set VIRSH)`),
          );
        const said =
          (stderr || error.message)
            .trim()
            .split('\n')
            .find((line) => line.trim() !== '') ?? '';
        reject(new VirshError(error.killed ? `no answer within ${VIRSH_TIMEOUT_MS / 1000} s` : said.trim()));
      },
    );
  });
}

/** The names of every domain of the connection, running or not, in virsh's order. */
export async function listDomains(uri: string): Promise<string[]> {
  try {
    const out = await virsh(uri, ['list', '--all', '--name']);
    return out
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '');
  } catch (error) {
    if (error instanceof VirshError)
      throw new CliError(EXIT.usage, `virsh -c ${uri} list --all --name failed: ${error.message}`);
    throw error;
  }
}

/** The domain's XML as libvirt gives it (throws VirshError when it went away meanwhile). */
export function dumpXml(uri: string, name: string): Promise<string> {
  return virsh(uri, ['dumpxml', '--domain', name]);
}

/** Domains per virsh run: one connection for many dumpxml, and far below the kernel's 128 KiB per argument. */
const DUMP_BATCH = 100;
const MARK = '@@doorbell-sync@@';

/** A word for virsh's own command parser (vshCommandStringGetArg): double quotes, with \ and " escaped. */
const quoted = (word: string) => `"${word.replace(/[\\"]/g, '\\$&')}"`;

/**
 * The XML of many domains, a batch of them per virsh run: `virsh -c URI "echo MARK0; dumpxml
 * --domain A; echo MARK1; dumpxml --domain B; ..."`. One connection per batch instead of one per
 * domain (each connection to a test:///FILE node parses the whole file again, a remote one makes
 * a round trip). virsh goes on after a failed command; a domain whose part comes back empty (it
 * went away meanwhile) is asked again alone, to answer virsh's own error for it.
 */
export async function dumpXmlAll(uri: string, names: string[]): Promise<Map<string, string | VirshError>> {
  const answers = new Map<string, string | VirshError>();
  for (let start = 0; start < names.length; start += DUMP_BATCH) {
    const batch = names.slice(start, start + DUMP_BATCH);
    const script = batch.map((name, i) => `echo ${MARK}${i}${MARK}; dumpxml --domain ${quoted(name)}`).join('; ');
    let out = '';
    try {
      out = await virsh(uri, [script]);
    } catch (error) {
      if (!(error instanceof VirshError)) throw error;
      out = ''; // the last dumpxml failed: every domain of the batch is asked alone below
    }
    const parts = new Map<number, string>();
    for (const part of out.split(MARK).slice(1)) {
      // "0" then the XML, alternating: the index part is followed by the part holding the XML.
      if (/^\d+$/.test(part)) parts.set(Number(part), '');
      else {
        const last = [...parts.keys()].pop();
        if (last !== undefined) parts.set(last, part.trim());
      }
    }
    for (const [i, name] of batch.entries()) {
      const xml = parts.get(i);
      if (xml?.startsWith('<domain')) answers.set(name, xml);
      else
        answers.set(
          name,
          await dumpXml(uri, name).catch((error: unknown) => {
            if (error instanceof VirshError) return error;
            throw error;
          }),
        );
    }
  }
  return answers;
}

export interface DomainFacts {
  name: string;
  uuid?: string;
  arch?: string;
  machine?: string;
  /** The <emulator> path: the QEMU binary libvirt starts. */
  emulator?: string;
}

/** What sync needs to know of a domain before sending it; a text that does not parse throws. */
export function domainFacts(name: string, xml: string): DomainFacts {
  const root = parseXml(xml).documentElement;
  if (root === null || root.tagName !== 'domain') throw new Error(`the XML of ${name} is not a <domain>`);
  const text = (element: ReturnType<typeof child>) => element?.textContent?.trim() || undefined;
  const type = child(child(root, 'os') ?? root, 'type');
  return {
    name: text(child(root, 'name')) ?? name,
    uuid: text(child(root, 'uuid')),
    arch: attr(type, 'arch'),
    machine: attr(type, 'machine'),
    emulator: text(child(child(root, 'devices') ?? root, 'emulator')),
  };
}

/**
 * Why a domain is not taken, or null when it is: doorbell models the arm64 `virt` machine only
 * (a versioned virt-9.2 is the same board). Found here, so that an x86 guest on the same host is
 * listed as skipped rather than refused by the service.
 */
export function skipReason(facts: DomainFacts): string | null {
  if (facts.arch !== 'aarch64') return `arch ${facts.arch ?? '(none)'}: only aarch64 domains are taken`;
  if (facts.machine === undefined || !/^virt(-\d+\.\d+)?$/.test(facts.machine))
    return `machine ${facts.machine ?? '(none)'}: only the virt machine is taken`;
  return null;
}

/**
 * The VM id of a domain: its name made a valid id (lowercase; any run of characters outside
 * [a-z0-9._-] becomes one '-'; at most 64 characters, starting with a letter or digit). The name,
 * not the UUID: it is what people call the VM, it is stable across `virsh define` of an edited
 * XML, and a test-driver node without <uuid> gets a new random UUID on every connection.
 */
export function vmIdOfDomain(name: string): string {
  const slug = name
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[._-]+/, '')
    .slice(0, 64)
    .replace(/[-.]+$/, '');
  return slug === '' ? 'domain' : slug;
}
