// Every file of the import corpus that imports (libvirt's aarch64 test domains, QEMU's documented
// command lines, read in place from ../shared/corpus) read again into the VM it made: nothing
// differs and no command is planned, which is what lets a sync of an unchanged host append
// nothing. Files the import refuses are left to the corpus suites that say why.

import { expect, it } from 'vitest';
import { importedTopology } from '../../src/app/reimport-vm';
import { diffTopology } from '../../src/domain/topology/diff';
import { replay } from '../../src/domain/topology/replay';
import { commandsToReach } from '../../src/domain/topology/reshape';
import type { VmState } from '../../src/domain/topology/types';
import { planImport } from '../../src/interchange/draft';
import { parseLibvirtXml } from '../../src/interchange/libvirt-xml/parse';
import { parseQemuCmdline } from '../../src/interchange/qemu-cmdline/parse';
import type { ImportFormat } from '../../src/interchange/report';
import { corpusFiles, describeWithCorpus, readCorpus } from '../helpers/corpus';

function importOf(format: ImportFormat, source: string): VmState | undefined {
  try {
    const draft = format === 'libvirt-xml' ? parseLibvirtXml(source, {}) : parseQemuCmdline(source);
    return replay(planImport('vm', draft).commands);
  } catch {
    return undefined;
  }
}

const CASES = [
  ...corpusFiles('libvirt', '.xml').map((name) => ['libvirt-xml', 'libvirt', name] as const),
  ...corpusFiles('qemu', '').map((name) => ['qemu-cmdline', 'qemu', name] as const),
].filter(([, , name]) => !name.endsWith('.md'));

describeWithCorpus('re-importing the corpus into the VMs it made', () => {
  it('changes nothing for every file that imports', () => {
    let imported = 0;
    for (const [format, folder, name] of CASES) {
      const source = readCorpus(folder, name);
      const vm = importOf(format, source);
      if (vm === undefined) continue;
      imported += 1;
      const again = importedTopology(vm, { format, source });
      expect(diffTopology(vm, again), `${folder}/${name}`).toEqual([]);
      expect(commandsToReach(vm, again), `${folder}/${name}`).toEqual([]);
    }
    // The corpus holds dozens of importable domains and command lines (see its README).
    expect(imported).toBeGreaterThan(10);
  });
});
