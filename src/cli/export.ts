// doorbell export VM --format qemu|libvirt: the text that imports back to the same topology.

import type { Client } from './client.js';
import { EXIT } from './exit-codes.js';

export const EXPORT_PATHS = { qemu: 'qemu-cmdline', libvirt: 'libvirt-xml' } as const;

export async function exportVm(
  client: Client,
  vm: string,
  options: { format: keyof typeof EXPORT_PATHS; asOf?: number },
): Promise<number> {
  const query = options.asOf === undefined ? '' : `?asOf=${options.asOf}`;
  const text = await client.text(`/v1/vms/${encodeURIComponent(vm)}/${EXPORT_PATHS[options.format]}${query}`);
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  return EXIT.ok;
}
