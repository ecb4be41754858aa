// Small libvirt domains for the parser's tests, and a way to catch what it refuses.

import { parseLibvirtXml } from '../../../src/interchange/libvirt-xml/parse';
import { InterchangeError } from '../../../src/interchange/report';

/** A <domain> of `type` with 2 GiB, the given domain-level elements and <devices>. */
export const domain = (devices: string, extra = '', type = 'kvm') =>
  `<domain type='${type}'>\n<memory unit='MiB'>2048</memory>\n${extra}<devices>\n${devices}\n</devices>\n</domain>`;

export const pxb = (index: number, busNr: number, slot: number) =>
  `<controller type='pci' index='${index}' model='pcie-expander-bus'><target busNr='${busNr}'/><address type='pci' bus='0x00' slot='${slot}' function='0'/></controller>`;

export const port = (index: number, bus: number, slot: number, alias = '') =>
  `<controller type='pci' index='${index}' model='pcie-root-port'>${alias}<address type='pci' bus='${bus}' slot='${slot}' function='0'/></controller>`;

export const pciAt = (bus: number, slot: number, fn = 0) =>
  `<address type='pci' domain='0x0000' bus='${bus}' slot='${slot}' function='${fn}'/>`;

export function refusal(source: string, host = {}): InterchangeError {
  try {
    parseLibvirtXml(source, host);
  } catch (error) {
    if (error instanceof InterchangeError) return error;
    throw error;
  }
  throw new Error('the source was accepted');
}
