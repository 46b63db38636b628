/**
 * Event files for the local stack (`rotor event --local`): the example files describe events as Azure delivers them,
 * with data.Id on the public cloud's Key Vault host (`https://<vault>.vault.azure.net/…`). The local stack serves each
 * vault on a loopback URL, and Rotor rejects an event whose data.Id is on another host than the configured vault's
 * (VaultMismatch) — so, against the local stack only, an Id on `<vault>.vault.azure.net` of a configured vault is read
 * as the same path on that vault's local URL. Nothing else changes: other hosts, clouds and vaults stay foreign.
 */
type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

export function localizeEventIds(events: unknown, vaults: readonly { name: string; url: string }[]): unknown {
  const local = new Map(vaults.map((v) => [`${v.name.toLowerCase()}.vault.azure.net`, v.url.replace(/\/+$/, '')]));
  const one = (event: unknown): unknown => {
    if (!isObject(event) || !isObject(event['data'])) return event;
    const data: Json = { ...event['data'] };
    for (const key of Object.keys(data)) {
      const value = data[key];
      if (key.trim().toLowerCase() !== 'id' || typeof value !== 'string') continue;
      try {
        const url = new URL(value);
        const target = url.protocol === 'https:' && url.port === '' ? local.get(url.hostname.toLowerCase()) : undefined;
        if (target) data[key] = `${target}${url.pathname}${url.search}`;
      } catch {
        // Not a URL: left as it is (Rotor rejects it).
      }
    }
    return { ...event, data };
  };
  return Array.isArray(events) ? events.map(one) : one(events);
}
