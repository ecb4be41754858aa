// Where webhooks may be sent (DOORBELL_WEBHOOK_ALLOW): host names, addresses and networks. By
// default only loopback, so that nobody can make the service probe its own network. A URL is
// checked when a hook is made or changed and again at each delivery, where the addresses a name
// resolves to are checked as the connection is made (a name that later resolves elsewhere, DNS
// rebinding, is refused then).

import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { BlockList, isIP } from 'node:net';

export const DEFAULT_WEBHOOK_ALLOW = ['localhost', '127.0.0.0/8', '::1/128'];

export interface TargetPolicy {
  /** Host names allowed whatever they resolve to (lower case). */
  names: ReadonlySet<string>;
  /** Addresses and networks allowed (an IP literal, or what a name not listed resolves to). */
  networks: BlockList;
  /** The list as configured, for messages. */
  entries: readonly string[];
}

/** An entry that is neither a host name, an address nor a network (CIDR); undefined when fine. */
export function allowEntryError(entry: string): string | undefined {
  const [address, bits, extra] = entry.split('/');
  if (extra !== undefined) return 'more than one /';
  if (bits !== undefined) {
    const family = isIP(address ?? '');
    if (family === 0) return 'a network must be an address followed by /bits';
    const max = family === 4 ? 32 : 128;
    if (!/^\d{1,3}$/.test(bits) || Number(bits) > max) return `the prefix length must be 0 to ${max}`;
    return undefined;
  }
  if (isIP(entry) !== 0) return undefined;
  return /^(\*\.)?[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/i.test(entry) ? undefined : 'not a host name, address or network';
}

export function targetPolicy(entries: readonly string[] = DEFAULT_WEBHOOK_ALLOW): TargetPolicy {
  const names = new Set<string>();
  const networks = new BlockList();
  for (const entry of entries) {
    const [address = '', bits] = entry.split('/');
    const family = isIP(address);
    if (family === 0) names.add(entry.toLowerCase());
    else if (bits === undefined) networks.addAddress(address, family === 4 ? 'ipv4' : 'ipv6');
    else networks.addSubnet(address, Number(bits), family === 4 ? 'ipv4' : 'ipv6');
  }
  return { names, networks, entries };
}

const bare = (hostname: string) => hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();

const addressAllowed = (policy: TargetPolicy, address: string) => {
  const family = isIP(address);
  return family !== 0 && policy.networks.check(address, family === 4 ? 'ipv4' : 'ipv6');
};

function nameListed(policy: TargetPolicy, host: string): boolean {
  if (policy.names.has(host)) return true;
  for (const name of policy.names) if (name.startsWith('*.') && host.endsWith(name.slice(1))) return true;
  return false;
}

export class TargetRefused extends Error {
  override name = 'TargetRefused';
}

/** The URL's form: http or https, no credentials, a host. Throws TargetRefused saying what is wrong. */
export function parseTarget(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new TargetRefused(`${JSON.stringify(text)} is not an absolute URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new TargetRefused(`the scheme must be http or https, not ${url.protocol.replace(/:$/, '')}`);
  if (url.username !== '' || url.password !== '')
    throw new TargetRefused('a webhook URL must not carry credentials (user:password@); the signature authenticates');
  return url;
}

/**
 * Checks a URL against the policy; resolves a name that is not listed and requires each of its
 * addresses to be allowed. Throws TargetRefused naming the rule.
 */
export async function checkTarget(policy: TargetPolicy, text: string): Promise<URL> {
  const url = parseTarget(text);
  const host = bare(url.hostname);
  if (isIP(host) !== 0) {
    if (!addressAllowed(policy, host)) throw refusedHost(policy, host);
    return url;
  }
  if (nameListed(policy, host)) return url;
  let addresses: LookupAddress[];
  try {
    addresses = await new Promise((resolve, reject) =>
      dnsLookup(host, { all: true }, (error, found) => (error ? reject(error) : resolve(found))),
    );
  } catch {
    throw new TargetRefused(`the host ${host} does not resolve, and it is not listed in DOORBELL_WEBHOOK_ALLOW`);
  }
  const outside = addresses.find((a) => !addressAllowed(policy, a.address));
  if (outside !== undefined || addresses.length === 0) throw refusedHost(policy, host, outside?.address);
  return url;
}

function refusedHost(policy: TargetPolicy, host: string, address?: string): TargetRefused {
  const via = address === undefined ? '' : ` (it resolves to ${address})`;
  return new TargetRefused(
    `the host ${host}${via} is not allowed: DOORBELL_WEBHOOK_ALLOW lists ${policy.entries.join(', ') || 'nothing'}`,
  );
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for http.request that connects only to allowed addresses: a listed name to any, any
 * other name only to addresses in the allowed networks (checked on the addresses actually used).
 */
export function guardedLookup(policy: TargetPolicy) {
  return (hostname: string, options: LookupOptions, callback: LookupCallback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, '');
      const host = bare(hostname);
      const allowed = nameListed(policy, host) ? addresses : addresses.filter((a) => addressAllowed(policy, a.address));
      if (allowed.length === 0) {
        const refusal: NodeJS.ErrnoException = refusedHost(policy, host, addresses[0]?.address);
        refusal.code = 'WEBHOOK_TARGET_REFUSED';
        return callback(refusal, '');
      }
      if (options.all === true) return callback(null, allowed);
      const first = allowed[0]!;
      return callback(null, first.address, first.family);
    });
  };
}
