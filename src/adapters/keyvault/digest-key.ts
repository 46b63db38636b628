/**
 * Rotor's audit digest key in Key Vault: signing through the official CryptographyClient (the private key never
 * leaves the vault; the key is not exportable), and the public keys of its versions through KeyClient, so that
 * verification needs only read access to the key (or an export's copy of it, see PublicKeyVerifier).
 */
import { CryptographyClient, KeyClient, type KeyVaultKey } from '@azure/keyvault-keys';
import type { DigestSigner, PublicJwk, SignatureAlgorithm } from '../../core/audit-digest.js';
import { commonClientOptions, type AzureEnvironment } from '../azure-clients.js';

/** How long the current key version is reused before it is looked up again (a rotated key is picked up). */
const KEY_CACHE_MS = 60 * 60_000;

export interface DigestKeyRef {
  /** `https://<vault>/` */
  readonly vaultUrl: string;
  readonly name: string;
}

/** Parses ROTOR_DIGEST_KEY_ID: `https://<vault host>/keys/<name>[/<version>]` (the version is ignored). */
export function parseDigestKeyId(keyId: string): DigestKeyRef {
  let url: URL;
  try {
    url = new URL(keyId);
  } catch {
    throw new Error(`ROTOR_DIGEST_KEY_ID: not a URL: ${keyId.slice(0, 200)}`);
  }
  const parts = url.pathname.split('/').filter(Boolean);
  if (url.protocol !== 'https:' || parts[0] !== 'keys' || !parts[1] || parts.length > 3) {
    throw new Error(`ROTOR_DIGEST_KEY_ID: must be https://<vault>/keys/<name>; got ${keyId.slice(0, 200)}`);
  }
  return { vaultUrl: `${url.origin}/`, name: parts[1] };
}

function algorithmOf(key: KeyVaultKey): SignatureAlgorithm {
  const kty = key.keyType ?? '';
  if (kty.startsWith('RSA')) return 'RS256';
  if (kty.startsWith('EC') && key.key?.crv === 'P-256') return 'ES256';
  throw new Error(`the audit digest key ${key.id ?? ''} is ${kty} ${key.key?.crv ?? ''}: use RSA (RS256) or EC P-256 (ES256)`);
}

const b64 = (v: Uint8Array | undefined): string => Buffer.from(v ?? new Uint8Array()).toString('base64url');

export function publicJwkOf(key: KeyVaultKey): PublicJwk {
  const k = key.key;
  if (!k) throw new Error(`key ${key.id ?? ''} has no key material`);
  return k.kty?.startsWith('EC') ? { kty: 'EC', crv: k.crv ?? '', x: b64(k.x), y: b64(k.y) } : { kty: 'RSA', n: b64(k.n), e: b64(k.e) };
}

export class KeyVaultDigestKey implements DigestSigner {
  private readonly keys: KeyClient;
  private readonly options: ReturnType<typeof commonClientOptions> & { disableChallengeResourceVerification: boolean };
  private current: { at: number; key: { id: string; alg: SignatureAlgorithm } } | undefined;
  private readonly publicKeys = new Map<string, Promise<PublicJwk | undefined>>();

  constructor(
    readonly ref: DigestKeyRef,
    private readonly env: AzureEnvironment,
    private readonly now: () => number = Date.now,
  ) {
    this.options = { ...commonClientOptions(env), disableChallengeResourceVerification: env.local };
    this.keys = new KeyClient(ref.vaultUrl, env.credential, this.options);
  }

  async key(): Promise<{ id: string; alg: SignatureAlgorithm }> {
    if (this.current && this.now() - this.current.at < KEY_CACHE_MS) return this.current.key;
    const key = await this.keys.getKey(this.ref.name);
    if (!key.id) throw new Error(`the audit digest key ${this.ref.name} has no id`);
    this.current = { at: this.now(), key: { id: key.id, alg: algorithmOf(key) } };
    return this.current.key;
  }

  async sign(key: { id: string; alg: SignatureAlgorithm }, digest: Uint8Array): Promise<Uint8Array> {
    const client = new CryptographyClient(key.id, this.env.credential, this.options);
    const signed = await client.sign(key.alg, digest);
    return signed.result;
  }

  /** Whether a key id names a version of this key (same vault host, same name). */
  trusts(keyId: string): { version: string } | undefined {
    let url: URL;
    try {
      url = new URL(keyId);
    } catch {
      return undefined;
    }
    const parts = url.pathname.split('/').filter(Boolean);
    const ok = url.origin.toLowerCase() === new URL(this.ref.vaultUrl).origin.toLowerCase() && parts[0] === 'keys' && parts[1]?.toLowerCase() === this.ref.name.toLowerCase();
    return ok && parts.length === 3 && parts[2] ? { version: parts[2] } : undefined;
  }

  /** The public key of a trusted key id (a version of this key), or undefined for any other key. */
  publicKey(keyId: string): Promise<PublicJwk | undefined> {
    const trusted = this.trusts(keyId);
    if (!trusted) return Promise.resolve(undefined);
    let p = this.publicKeys.get(trusted.version);
    if (!p) {
      p = this.keys.getKey(this.ref.name, { version: trusted.version }).then(
        (key) => publicJwkOf(key),
        (err: unknown) => {
          this.publicKeys.delete(trusted.version);
          if ((err as { statusCode?: number }).statusCode === 404) return undefined;
          throw err;
        },
      );
      this.publicKeys.set(trusted.version, p);
    }
    return p;
  }
}
