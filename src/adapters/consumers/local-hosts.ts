/**
 * Name resolution for the local stack only (app setting ROTOR_LOCAL_HOSTS, never set in Azure): the emulated HPC
 * Pack nodes have DNS names under a local zone (`cn0042.hpc-cluster-01.hpc.test`) that no DNS server knows. Names
 * under a zone resolve to the zone's address, except those listed as not resolving (nodes whose names are missing
 * from DNS, which Rotor must report as NameNotResolved); names outside every zone go to the system resolver.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';

export interface LocalHosts {
  /** DNS suffix → IP address every name under it resolves to. */
  readonly zones: Readonly<Record<string, string>>;
  /** Names under a zone that do not resolve (ENOTFOUND). */
  readonly unresolved?: readonly string[] | undefined;
}

/** Parses the setting's JSON; throws an error naming the setting and the field. */
export function parseLocalHosts(text: string, setting: string): LocalHosts {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`${setting} is not valid JSON`);
  }
  const v = value as { zones?: unknown; unresolved?: unknown };
  if (!v || typeof v !== 'object' || !v.zones || typeof v.zones !== 'object' || Array.isArray(v.zones)) {
    throw new Error(`${setting}.zones must be an object of DNS suffix → IP address`);
  }
  const zones: Record<string, string> = {};
  for (const [zone, address] of Object.entries(v.zones as Record<string, unknown>)) {
    if (typeof address !== 'string' || isIP(address) === 0) throw new Error(`${setting}.zones["${zone}"] must be an IP address`);
    zones[zone.toLowerCase().replace(/^\.+|\.+$/g, '')] = address;
  }
  if (v.unresolved !== undefined && (!Array.isArray(v.unresolved) || v.unresolved.some((n) => typeof n !== 'string'))) {
    throw new Error(`${setting}.unresolved must be a list of host names`);
  }
  return { zones, unresolved: (v.unresolved as string[] | undefined) ?? [] };
}

function notFound(hostname: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', hostname, syscall: 'getaddrinfo' });
}

/** A `lookup` for net/tls connect that answers names under the zones itself and defers the rest to `fallback`. */
export function localHostsLookup(hosts: LocalHosts, fallback: LookupFunction = dnsLookup): LookupFunction {
  const unresolved = new Set((hosts.unresolved ?? []).map((n) => n.toLowerCase()));
  const zones = Object.entries(hosts.zones);
  return (hostname, options, callback) => {
    const name = hostname.toLowerCase().replace(/\.$/, '');
    const zone = zones.find(([suffix]) => name === suffix || name.endsWith(`.${suffix}`));
    if (!zone) {
      fallback(hostname, options, callback);
      return;
    }
    process.nextTick(() => {
      if (unresolved.has(name)) {
        callback(notFound(hostname), options.all ? [] : '', 0);
        return;
      }
      const address = zone[1];
      const family = isIP(address);
      if (options.all) callback(null, [{ address, family } satisfies LookupAddress]);
      else callback(null, address, family);
    });
  };
}
