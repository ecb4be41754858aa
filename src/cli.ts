#!/usr/bin/env node
// doorbell, the command line. Talks to a running service (--server or DOORBELL_URL, token from
// --token or DOORBELL_TOKEN) except `record show`, which reads the database directly,
// `db copy`, which moves a SQLite database into PostgreSQL, and `probe-qemu` without --vm, which
// only asks a local QEMU binary.
// Exit codes, the same for every command: src/cli/exit-codes.ts.

import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { Client } from './cli/client.js';
import { copyDb } from './cli/db-copy.js';
import { diffVm } from './cli/diff.js';
import { CliError, EXIT } from './cli/exit-codes.js';
import { EXPORT_PATHS, exportVm } from './cli/export.js';
import { fleetSweep } from './cli/fleet-sweep.js';
import { importFiles, parseGuestVectors } from './cli/import.js';
import { DEFAULT_QEMU_BINARY, probeQemu } from './cli/probe-qemu.js';
import { showRecord } from './cli/record.js';
import { sweepVm } from './cli/sweep.js';
import { GUEST_PROFILE_IDS, ORPHAN_POLICIES, syncLibvirt } from './cli/sync.js';
import { watchEvents } from './cli/watch.js';
import { addWebhook, listDeliveries, listWebhooks, testWebhook } from './cli/webhooks.js';

const DEFAULT_SERVER = 'http://127.0.0.1:8080';

function nonNegativeInteger(name: string) {
  return (value: string): number => {
    if (!/^\d{1,15}$/.test(value)) throw new InvalidArgumentError(`${name} must be a whole number >= 0.`);
    return Number(value);
  };
}

const positiveInteger = (name: string) => (value: string) => {
  const n = nonNegativeInteger(name)(value);
  if (n === 0) throw new InvalidArgumentError(`${name} must be at least 1.`);
  return n;
};

const collect = (value: string, previous: string[] = []) => [...previous, value];

function program(run: (code: Promise<number> | number) => void): Command {
  const root = new Command('doorbell')
    .description('Where every MSI of a passthrough device lands: the doorbell service from the command line.')
    .addOption(new Option('--server <url>', 'base URL of the service').env('DOORBELL_URL').default(DEFAULT_SERVER))
    .addOption(new Option('--token <token>', 'API token (Authorization: Bearer)').env('DOORBELL_TOKEN'))
    .option('--json', 'machine output: JSON on stdout, nothing else')
    .showHelpAfterError()
    .addHelpText(
      'after',
      '\nExit codes: 0 ok, 1 the server refused a request (or a record is missing), 2 wrong usage,\n' +
        '3 the server cannot be reached, 4 (sweep, fleet-sweep, diff, sync) some vector loses its interrupts;\n' +
        'probe-qemu: 2 the binary cannot be run, 1 it gave no usable answer in time.',
    );
  const client = () => {
    const { server, token } = root.opts<{ server: string; token?: string }>();
    return new Client({ server, token });
  };
  const json = () => root.opts<{ json?: boolean }>().json === true;

  root
    .command('import')
    .description('create one VM per file from a qemu-system-aarch64 command line or a libvirt <domain>')
    .argument('<file...>', 'files to import; the VM id is the file name without extension')
    .option('--vm <id>', 'the VM id (with a single file)')
    .addOption(
      new Option('--format <format>', 'the source format (default: detected)').choices(['qemu-cmdline', 'libvirt-xml']),
    )
    .addOption(
      new Option('--concurrency <n>', 'imports sent at once').argParser(positiveInteger('--concurrency')).default(4),
    )
    .option(
      '--probe-qemu [binary]',
      'ask the QEMU binary each source names (libvirt <emulator>, the command line program), or the one given, ' +
        'what it is (as probe-qemu does) and declare that build with each VM',
    )
    .addOption(
      new Option('--probe-timeout <seconds>', 'how long the binary may take to answer, per run')
        .argParser(positiveInteger('--probe-timeout'))
        .default(10),
    )
    .option('--qemu-version <version>', 'declare this QEMU version (X.Y or X.Y.Z) with each VM, without probing')
    .addOption(
      new Option('--guest-profile <profile>', "declare the guest's profile with each VM (GET /v1/guest-profiles)"),
    )
    .option(
      '--guest-vectors <device=count,...>',
      'vectors a device allocates where the topology cannot tell (a vfio-pci: its MSI-X table size); repeatable',
      (value: string, previous?: Record<string, number>) => parseGuestVectors(value, previous),
    )
    .action((files: string[], options) => run(importFiles(client(), files, { ...options, json: json() })));

  root
    .command('export')
    .description('print a VM as a command line or a libvirt domain that imports back to the same topology')
    .argument('<vm>', 'VM id')
    .addOption(new Option('--format <format>', 'output format').choices(Object.keys(EXPORT_PATHS)).default('qemu'))
    .option('--as-of <version>', 'the VM as it was after this many events', nonNegativeInteger('--as-of'))
    .action((vm: string, options) => run(exportVm(client(), vm, options)));

  root
    .command('diff')
    .description('what changed in a VM between two versions: parts added, removed, changed, and the routes that moved')
    .argument('<vm>', 'VM id')
    .option(
      '--from <version>',
      'the older version (default: the one before the last change)',
      nonNegativeInteger('--from'),
    )
    .option('--to <version>', 'the newer version (default: the current one)', positiveInteger('--to'))
    .addOption(
      new Option(
        '--semantics <name>',
        "QEMU behaviour the routes are compared under (default: the VM's build)",
      ).choices(['pre-fix', 'address-space', 'upstream', 'all']),
    )
    .action((vm: string, options) => run(diffVm(client(), vm, { ...options, json: json() })));

  root
    .command('sweep')
    .description("resolve every programmed MSI vector of a VM and compare QEMU's behaviours")
    .argument('<vm>', 'VM id')
    .addOption(
      new Option('--semantics <name>', "QEMU behaviour (default: the VM's declared build)").choices([
        'pre-fix',
        'address-space',
        'upstream',
      ]),
    )
    .option('--as-of <version>', 'the VM as it was after this many events', nonNegativeInteger('--as-of'))
    .action((vm: string, options) => run(sweepVm(client(), vm, { ...options, json: json() })));

  root
    .command('fleet-sweep')
    .description(
      'judge every VM (or those named) against a target QEMU build: verdict, vectors, interrupts lost, and why',
    )
    .option('--target-version <version>', 'the target QEMU version (default: 11.0.0)')
    .option('--vm <id>', 'only this VM (repeatable)', collect)
    .action((options) => run(fleetSweep(client(), { ...options, json: json() })));

  root
    .command('watch')
    .description('follow the change feed, one line per event, resuming by Last-Event-ID when the connection drops')
    .option('--vm <id>', 'only this VM (repeatable)', collect)
    .option('--type <event>', 'only this event type (repeatable)', collect)
    .option('--after <position>', 'start after this global position (default: now)', nonNegativeInteger('--after'))
    .option('--count <n>', 'exit after this many events', positiveInteger('--count'))
    .action((options) => {
      const stop = new AbortController();
      process.once('SIGINT', () => stop.abort());
      process.once('SIGTERM', () => stop.abort());
      run(watchEvents(client(), { ...options, json: json(), signal: stop.signal }));
    });

  root
    .command('sync')
    .description(
      'import the aarch64 virt domains of a libvirt connection, re-import the changed ones, and keep or ' +
        'decommission the VMs whose domain is gone; a table of what each domain became',
    )
    .requiredOption('--libvirt <uri>', 'the libvirt connection (virsh -c URI), e.g. qemu:///system')
    .addOption(
      new Option('--orphans <policy>', 'a VM whose domain is gone: keep it, or decommission it')
        .choices(ORPHAN_POLICIES)
        .default('keep'),
    )
    .option('--dry-run', 'print the plan, write nothing')
    .option('--match <regex>', 'only the domains whose name matches')
    .option('--interval <seconds>', 'sync again every S seconds until SIGINT/SIGTERM', positiveInteger('--interval'))
    .addOption(
      new Option('--guest-profile <name>', 'declare this guest profile on the VMs the sync brings in').choices(
        GUEST_PROFILE_IDS,
      ),
    )
    .option(
      '--probe-qemu',
      "probe each domain's <emulator> (once per path) and declare the build on the VMs brought in",
    )
    .addOption(
      new Option('--concurrency <n>', 'domains handled at once').argParser(positiveInteger('--concurrency')).default(4),
    )
    .action((options) => {
      const stop = new AbortController();
      process.once('SIGINT', () => stop.abort());
      process.once('SIGTERM', () => stop.abort());
      run(syncLibvirt(client(), { ...options, json: json(), signal: stop.signal }));
    });

  root
    .command('probe-qemu')
    .description(
      'ask a QEMU binary what it is (--version, QMP query-version and device-list-properties arm-smmuv3), ' +
        'print its classification and what it can create; with --vm, declare it on that VM',
    )
    .argument(
      '[binary]',
      `the QEMU binary (a name on PATH or a path); default: with --vm the one the VM's import named, else ${DEFAULT_QEMU_BINARY}`,
    )
    .option('--vm <id>', 'declare the probed build on this VM (PUT /v1/vms/{vm}/qemu)')
    .addOption(
      new Option('--timeout <seconds>', 'how long the binary may take to answer, per run')
        .argParser(positiveInteger('--timeout'))
        .default(10),
    )
    .action((binary: string | undefined, options) => run(probeQemu(client, binary, { ...options, json: json() })));

  const webhooks = root
    .command('webhooks')
    .description('webhooks: each matching event POSTed to a receiver, signed (admin token)');
  webhooks
    .command('list')
    .description('list the webhooks with their cursor and state')
    .action(() => run(listWebhooks(client(), { json: json() })));
  webhooks
    .command('add')
    .description('create a webhook and print its secret (shown once)')
    .argument('<url>', 'the receiver (http or https; DOORBELL_WEBHOOK_ALLOW on the server says which hosts)')
    .option('--type <event>', 'only this event type (repeatable)', collect)
    .option('--vm <id>', 'only this VM (repeatable)', collect)
    .option('--disabled', 'create it disabled')
    .action((url: string, options) => run(addWebhook(client(), url, { ...options, json: json() })));
  webhooks
    .command('test')
    .description('send a signed ping (type WebhookPing) now and say how the receiver answered (exit 1 unless 2xx)')
    .argument('<id>', 'webhook id')
    .action((id: string) => run(testWebhook(client(), id, { json: json() })));
  webhooks
    .command('deliveries')
    .description("a webhook's delivery attempts, newest first")
    .argument('<id>', 'webhook id')
    .addOption(new Option('--limit <n>', 'how many').argParser(positiveInteger('--limit')).default(20))
    .action((id: string, options) => run(listDeliveries(client(), id, { ...options, json: json() })));

  root
    .command('record')
    .description('stored records, read from the database (DOORBELL_DB) without the service')
    .command('show')
    .argument('<id>', 'resolution or sweep record id')
    .description('print a resolution or sweep record exactly as it was answered')
    .action((id: string) => run(showRecord(id)));

  root
    .command('db')
    .description('the database itself, without the service')
    .command('copy')
    .description('copy a SQLite database into an empty PostgreSQL database, then check the copy')
    .requiredOption('--from <file>', 'the SQLite database file')
    .requiredOption('--to <url>', 'the postgres:// URL of an empty database')
    .action((options: { from: string; to: string }) => run(copyDb(options.from, options.to)));

  return root;
}

function report(error: unknown): number {
  if (error instanceof CliError) {
    process.stderr.write(`doorbell: ${error.message}\n`);
    return error.exitCode;
  }
  process.stderr.write(`doorbell: ${(error as Error).stack ?? error}\n`);
  return EXIT.refused;
}

async function main(argv: string[]): Promise<number> {
  let outcome: Promise<number> | number = EXIT.ok;
  const root = program((code) => {
    outcome = code;
  });
  // Usage errors exit 2 (commander's own default is 1, which scripts read as "refused").
  const override = (command: Command): void => {
    command.exitOverride();
    command.commands.forEach(override);
  };
  override(root);
  try {
    await root.parseAsync(argv, { from: 'user' });
    return await outcome;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    return report(error);
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
