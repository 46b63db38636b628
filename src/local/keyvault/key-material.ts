/**
 * Key pairs behind the emulator's keys and certificates. Objects created at run time get fresh pairs from the async
 * `generateKeyPair` (the event loop keeps serving); seeded objects share a small pool of pairs per key shape, so
 * seeding 100,000 objects costs a handful of key generations. A pair is held as PKCS#8 DER; node KeyObjects, the SPKI
 * and the public JWK are derived on first use and cached.
 */
import { createPrivateKey, createPublicKey, generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';

const generateKeyPairAsync = promisify(generateKeyPair);

export type RsaSize = 2048 | 3072 | 4096;
export type Curve = 'P-256' | 'P-384' | 'P-521' | 'P-256K';
export type KeyShape = { readonly kind: 'RSA'; readonly size: RsaSize } | { readonly kind: 'EC'; readonly crv: Curve };

export const RSA_SIZES: readonly RsaSize[] = [2048, 3072, 4096];
export const CURVES: readonly Curve[] = ['P-256', 'P-384', 'P-521', 'P-256K'];

const NODE_CURVE: Record<Curve, string> = {
  'P-256': 'prime256v1',
  'P-384': 'secp384r1',
  'P-521': 'secp521r1',
  'P-256K': 'secp256k1',
};
const CURVE_BY_NODE_NAME: Record<string, Curve> = {
  prime256v1: 'P-256',
  secp384r1: 'P-384',
  secp521r1: 'P-521',
  secp256k1: 'P-256K',
};

const shapeLabel = (shape: KeyShape): string => (shape.kind === 'RSA' ? `RSA-${shape.size}` : `EC-${shape.crv}`);

export type PublicJwk = { kty: 'RSA'; n: string; e: string } | { kty: 'EC'; crv: Curve; x: string; y: string };

export class KeyMaterial {
  private cachedPrivate: KeyObject | undefined;
  private cachedPublic: KeyObject | undefined;
  private cachedSpki: Buffer | undefined;
  private cachedJwk: PublicJwk | undefined;

  constructor(
    /** Stable id, referenced by persisted versions. */
    readonly id: string,
    readonly shape: KeyShape,
    /** The private key, PKCS#8 DER. */
    readonly pkcs8: Buffer,
  ) {}

  get privateKey(): KeyObject {
    this.cachedPrivate ??= createPrivateKey({ key: this.pkcs8, format: 'der', type: 'pkcs8' });
    return this.cachedPrivate;
  }

  get publicKey(): KeyObject {
    this.cachedPublic ??= createPublicKey(this.privateKey);
    return this.cachedPublic;
  }

  /** SubjectPublicKeyInfo DER (what certificates and CSRs embed). */
  get spki(): Buffer {
    this.cachedSpki ??= this.publicKey.export({ type: 'spki', format: 'der' });
    return this.cachedSpki;
  }

  /** The public JWK members Key Vault returns (never private ones). */
  get publicJwk(): PublicJwk {
    if (!this.cachedJwk) {
      const jwk = this.publicKey.export({ format: 'jwk' });
      this.cachedJwk =
        this.shape.kind === 'RSA'
          ? { kty: 'RSA', n: jwk.n ?? '', e: jwk.e ?? '' }
          : { kty: 'EC', crv: this.shape.crv, x: jwk.x ?? '', y: jwk.y ?? '' };
    }
    return this.cachedJwk;
  }

  pkcs8Pem(): string {
    return this.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  }
}

export async function generateKeyMaterial(id: string, shape: KeyShape): Promise<KeyMaterial> {
  const { privateKey } =
    shape.kind === 'RSA'
      ? await generateKeyPairAsync('rsa', { modulusLength: shape.size, publicExponent: 0x10001 })
      : await generateKeyPairAsync('ec', { namedCurve: NODE_CURVE[shape.crv] });
  return new KeyMaterial(id, shape, privateKey.export({ type: 'pkcs8', format: 'der' }));
}

/** Wraps an imported private key; throws for key types Key Vault certificates cannot hold. */
export function materialFromPrivateKey(id: string, privateKey: KeyObject): KeyMaterial {
  const details = privateKey.asymmetricKeyDetails ?? {};
  let shape: KeyShape;
  if (privateKey.asymmetricKeyType === 'rsa') {
    const size = details.modulusLength as RsaSize | undefined;
    if (!size || !RSA_SIZES.includes(size)) throw new Error(`RSA keys of ${size ?? 'unknown'} bits are not supported (2048, 3072, 4096)`);
    shape = { kind: 'RSA', size };
  } else if (privateKey.asymmetricKeyType === 'ec') {
    const crv = CURVE_BY_NODE_NAME[details.namedCurve ?? ''];
    if (!crv) throw new Error(`EC curve ${details.namedCurve ?? 'unknown'} is not supported (P-256, P-384, P-521, P-256K)`);
    shape = { kind: 'EC', crv };
  } else {
    throw new Error(`${privateKey.asymmetricKeyType ?? 'unknown'} keys are not supported (RSA and EC only)`);
  }
  return new KeyMaterial(id, shape, privateKey.export({ type: 'pkcs8', format: 'der' }));
}

/** Pairs per shape in the seeding pool: a few of the cheap shapes, one of the slow RSA sizes. */
const poolSize = (shape: KeyShape): number => (shape.kind === 'RSA' && shape.size > 2048 ? 1 : 3);

/** The shared key pairs of seeded objects, generated on first need per shape. */
export class KeyPool {
  private readonly pools = new Map<string, KeyMaterial[]>();

  /** Generates the pools of the given shapes that do not exist yet, in parallel. */
  async prepare(shapes: Iterable<KeyShape>): Promise<void> {
    const missing = new Map<string, KeyShape>();
    for (const shape of shapes) {
      const label = shapeLabel(shape);
      if (!this.pools.has(label)) missing.set(label, shape);
    }
    await Promise.all(
      [...missing].map(async ([label, shape]) => {
        const size = poolSize(shape);
        const materials = await Promise.all(
          Array.from({ length: size }, (_, i) => generateKeyMaterial(`pool-${label}-${i}`, shape)),
        );
        this.pools.set(label, materials);
      }),
    );
  }

  /** The n-th pair (round robin) of a prepared shape. */
  pick(shape: KeyShape, n: number): KeyMaterial {
    const pool = this.pools.get(shapeLabel(shape));
    if (!pool?.length) throw new Error(`key pool ${shapeLabel(shape)} was not prepared`);
    return pool[n % pool.length] as KeyMaterial;
  }

  /** Re-adopts pooled pairs loaded from persisted state. */
  adopt(material: KeyMaterial): void {
    if (!material.id.startsWith('pool-')) return;
    const label = shapeLabel(material.shape);
    const pool = this.pools.get(label) ?? [];
    if (!pool.some((m) => m.id === material.id)) pool.push(material);
    this.pools.set(label, pool);
  }
}
