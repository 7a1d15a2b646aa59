import { BlockList, isIP } from 'node:net';

/**
 * Where webhooks and notifications may send requests (config `outbound`). A Canary's author chooses the
 * URLs but the controller makes the request, from inside the cluster: without a policy any tenant can make
 * it read the cloud metadata service or a loopback admin port and echo the answer into an Event.
 */
export interface OutboundSpec {
  /** Host names (`name`, `*.suffix`), addresses or CIDRs exempt from the deny list (e.g. an in-cluster receiver). */
  allow: string[];
  /** CIDRs refused on top of the built-in list (e.g. the cluster's pod and service ranges). */
  deny: string[];
  /** Refuse every destination that `allow` does not name. */
  allowOnlyListed: boolean;
}

export const DEFAULT_OUTBOUND: OutboundSpec = { allow: [], deny: [], allowOnlyListed: false };

/** Always refused unless allowed: what a request from inside a node must never reach on a tenant's say-so. */
const BUILT_IN: ReadonlyArray<[cidr: string, what: string]> = [
  ['127.0.0.0/8', 'a loopback address'],
  ['::1/128', 'a loopback address'],
  ['169.254.0.0/16', 'a link-local address (cloud metadata lives at 169.254.169.254)'],
  ['fe80::/10', 'a link-local address'],
  ['0.0.0.0/8', 'an unspecified address'],
  ['::/128', 'an unspecified address'],
  ['fd00:ec2::254/128', 'a cloud metadata address'],
  ['100.100.100.200/32', 'a cloud metadata address'],
];

/** Names cloud providers give their metadata service; they resolve to link-local, but only inside the cloud. */
export const METADATA_HOSTS: ReadonlySet<string> = new Set([
  'metadata',
  'metadata.google.internal',
  'metadata.goog',
  'instance-data',
  'instance-data.ec2.internal',
]);

export interface OutboundPolicy {
  /** Why `host` (a name or address, as in a URL) may not be reached, or undefined when it may be. */
  refuseHost(host: string): string | undefined;
  /** Why a connection to `host` resolved to `addresses` may not be made (checked at connect time). */
  refuseResolved(host: string, addresses: string[]): string | undefined;
}

interface Cidr {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/** `10.0.0.0/8`, `fd00::/8` or a bare address (a /32 or /128); undefined when it is neither. */
export function parseCidr(text: string): Cidr | undefined {
  const [address = '', prefixText, extra] = text.trim().split('/');
  if (extra !== undefined) return undefined;
  const v = isIP(address);
  if (v === 0) return undefined;
  const max = v === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (!(prefix >= 0 && prefix <= max)) return undefined;
  return { address, prefix, family: v === 4 ? 'ipv4' : 'ipv6' };
}

const HOST_NAME = /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** Problems with an `outbound` section, each with its path (for config validation). */
export function outboundProblems(spec: OutboundSpec, path = 'outbound'): Array<{ path: string; message: string }> {
  const problems: Array<{ path: string; message: string }> = [];
  if (!Array.isArray(spec.allow)) problems.push({ path: `${path}.allow`, message: 'must be a list' });
  else spec.allow.forEach((e, i) => {
    if (typeof e !== 'string' || (!parseCidr(e) && !HOST_NAME.test(e.toLowerCase()))) problems.push({ path: `${path}.allow[${i}]`, message: `"${String(e)}" is neither a host name, an address nor a CIDR` });
  });
  if (!Array.isArray(spec.deny)) problems.push({ path: `${path}.deny`, message: 'must be a list' });
  else spec.deny.forEach((e, i) => {
    if (typeof e !== 'string' || !parseCidr(e)) problems.push({ path: `${path}.deny[${i}]`, message: `"${String(e)}" is not an address or a CIDR` });
  });
  if (typeof spec.allowOnlyListed !== 'boolean') problems.push({ path: `${path}.allowOnlyListed`, message: 'must be true or false' });
  return problems;
}

function normalHost(host: string): string {
  return host.replace(/^\[|\]$/g, '').replace(/\.$/, '').toLowerCase();
}

function family(address: string): 'ipv4' | 'ipv6' {
  return isIP(address) === 4 ? 'ipv4' : 'ipv6';
}

export function createOutboundPolicy(spec: OutboundSpec = DEFAULT_OUTBOUND): OutboundPolicy {
  const allowedNames = new Set<string>();
  const allowedSuffixes: string[] = [];
  const allowed = new BlockList();
  for (const e of spec.allow) {
    const c = parseCidr(e);
    if (c) allowed.addSubnet(c.address, c.prefix, c.family);
    else if (e.startsWith('*.')) allowedSuffixes.push(normalHost(e.slice(1)));
    else allowedNames.add(normalHost(e));
  }
  // One BlockList per reason, so a refusal can say which rule it met.
  const denied: Array<[BlockList, string]> = [];
  const add = (cidr: string, what: string): void => {
    const c = parseCidr(cidr);
    if (!c) return;
    const list = new BlockList();
    list.addSubnet(c.address, c.prefix, c.family);
    denied.push([list, what]);
  };
  for (const [cidr, what] of BUILT_IN) add(cidr, what);
  for (const cidr of spec.deny) add(cidr, `listed in outbound.deny (${cidr})`);

  const nameAllowed = (name: string): boolean => allowedNames.has(name) || allowedSuffixes.some((s) => name.endsWith(s));

  /** What rule refuses `address` ("a loopback address"), or undefined. */
  function refuseAddress(address: string): string | undefined {
    const f = family(address);
    if (allowed.check(address, f)) return undefined;
    for (const [list, what] of denied) if (list.check(address, f)) return what;
    if (spec.allowOnlyListed) return 'not in outbound.allow';
    return undefined;
  }
  const literal = (address: string, what: string): string => `${address} is ${what}`;

  return {
    refuseHost(host) {
      const name = normalHost(host);
      if (isIP(name)) {
        const what = refuseAddress(name);
        return what && literal(name, what);
      }
      if (nameAllowed(name)) return undefined;
      if (METADATA_HOSTS.has(name)) return `${name} is a cloud metadata host name`;
      return undefined; // decided on the addresses it resolves to, at connect time
    },
    refuseResolved(host, addresses) {
      const name = normalHost(host);
      if (!isIP(name) && nameAllowed(name)) return undefined;
      if (addresses.length === 0) return `${name} resolved to no address`;
      // One bad address refuses the name: a resolver may answer with a mix to slip one past us.
      for (const a of addresses) {
        const what = refuseAddress(a);
        if (what) return isIP(name) ? literal(a, what) : `${name} resolves to ${a}, ${what}`;
      }
      return undefined;
    },
  };
}
