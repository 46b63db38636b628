/**
 * Key operations `sign` and `verify` (POST /keys/{name}/{version}/sign|verify), as Key Vault serves them: the client
 * sends a digest (base64url), never the data; RSxxx is RSASSA-PKCS1-v1_5 over that digest, ESxxx is ECDSA over it
 * with the signature as r‖s (IEEE P1363, as JWS), PSxxx is RSASSA-PSS. The private key never leaves the emulator.
 *
 * Node's crypto only signs data (it hashes first), so signing a digest is done here: RSA with the DigestInfo prefix
 * and PKCS#1 v1.5 padding (privateEncrypt), ECDSA with BigInt arithmetic on the curve (an emulator does not need
 * constant-time code; its keys are test material).
 */
import { constants, privateEncrypt, publicDecrypt, randomBytes, type KeyObject } from 'node:crypto';
import { ok, objectName, type OperationRequest, type OperationResult, type VaultContext } from './context.js';
import { badParameter, forbidden, KeyVaultError } from './errors.js';
import type { Curve, KeyMaterial } from './key-material.js';
import { requireRecord, targetVersion } from './records.js';
import { ids } from './wire.js';

type Hash = 'sha256' | 'sha384' | 'sha512';
const DIGEST_LENGTH: Record<Hash, number> = { sha256: 32, sha384: 48, sha512: 64 };
/** DER DigestInfo prefixes (RFC 8017 §9.2 note 1). */
const DIGEST_INFO: Record<Hash, Buffer> = {
  sha256: Buffer.from('3031300d060960864801650304020105000420', 'hex'),
  sha384: Buffer.from('3041300d060960864801650304020205000430', 'hex'),
  sha512: Buffer.from('3051300d060960864801650304020305000440', 'hex'),
};

type Algorithm = { kind: 'RS' | 'PS'; hash: Hash } | { kind: 'ES'; hash: Hash; curve: Curve };
const ALGORITHMS: Record<string, Algorithm> = {
  RS256: { kind: 'RS', hash: 'sha256' },
  RS384: { kind: 'RS', hash: 'sha384' },
  RS512: { kind: 'RS', hash: 'sha512' },
  PS256: { kind: 'PS', hash: 'sha256' },
  PS384: { kind: 'PS', hash: 'sha384' },
  PS512: { kind: 'PS', hash: 'sha512' },
  ES256: { kind: 'ES', hash: 'sha256', curve: 'P-256' },
  ES384: { kind: 'ES', hash: 'sha384', curve: 'P-384' },
  ES512: { kind: 'ES', hash: 'sha512', curve: 'P-521' },
  ES256K: { kind: 'ES', hash: 'sha256', curve: 'P-256K' },
};

interface CurveParams {
  p: bigint;
  a: bigint;
  n: bigint;
  gx: bigint;
  gy: bigint;
  bytes: number;
}
const h = (hex: string): bigint => BigInt(`0x${hex}`);
const CURVES: Record<Curve, CurveParams> = {
  'P-256': {
    p: h('ffffffff00000001000000000000000000000000ffffffffffffffffffffffff'),
    a: h('ffffffff00000001000000000000000000000000fffffffffffffffffffffffc'),
    n: h('ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551'),
    gx: h('6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296'),
    gy: h('4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5'),
    bytes: 32,
  },
  'P-384': {
    p: h('fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffff'),
    a: h('fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000fffffffc'),
    n: h('ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973'),
    gx: h('aa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a385502f25dbf55296c3a545e3872760ab7'),
    gy: h('3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c00a60b1ce1d7e819d7a431d7c90ea0e5f'),
    bytes: 48,
  },
  'P-521': {
    p: (1n << 521n) - 1n,
    a: (1n << 521n) - 4n,
    n: h('01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409'),
    gx: h('00c6858e06b70404e9cd9e3ecb662395b4429c648139053fb521f828af606b4d3dbaa14b5e77efe75928fe1dc127a2ffa8de3348b3c1856a429bf97e7e31c2e5bd66'),
    gy: h('011839296a789a3bc0045c8a5fb42c7d1bd998f54449579b446817afbd17273e662c97ee72995ef42640c550b9013fad0761353c7086a272c24088be94769fd16650'),
    bytes: 66,
  },
  'P-256K': {
    p: h('fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f'),
    a: 0n,
    n: h('fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141'),
    gx: h('79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798'),
    gy: h('483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8'),
    bytes: 32,
  },
};

const mod = (a: bigint, m: bigint): bigint => ((a % m) + m) % m;
function inv(a: bigint, m: bigint): bigint {
  let [r0, r1] = [mod(a, m), m];
  let [s0, s1] = [1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  return mod(s0, m);
}
type Point = { x: bigint; y: bigint } | null;
/** Jacobian coordinates (x = X/Z², y = Y/Z³): additions without a modular inverse each, one inverse at the end. */
type Jacobian = { X: bigint; Y: bigint; Z: bigint } | null;

function double(c: CurveParams, P: Jacobian): Jacobian {
  if (!P || P.Y === 0n) return null;
  const { p } = c;
  const YY = mod(P.Y * P.Y, p);
  const S = mod(4n * P.X * YY, p);
  const ZZ = mod(P.Z * P.Z, p);
  const M = mod(3n * P.X * P.X + c.a * ZZ * ZZ, p);
  const X = mod(M * M - 2n * S, p);
  return { X, Y: mod(M * (S - X) - 8n * YY * YY, p), Z: mod(2n * P.Y * P.Z, p) };
}

function addJ(c: CurveParams, P: Jacobian, Q: Jacobian): Jacobian {
  if (!P) return Q;
  if (!Q) return P;
  const { p } = c;
  const Z1Z1 = mod(P.Z * P.Z, p);
  const Z2Z2 = mod(Q.Z * Q.Z, p);
  const U1 = mod(P.X * Z2Z2, p);
  const U2 = mod(Q.X * Z1Z1, p);
  const S1 = mod(P.Y * Q.Z * Z2Z2, p);
  const S2 = mod(Q.Y * P.Z * Z1Z1, p);
  if (U1 === U2) return S1 === S2 ? double(c, P) : null;
  const H = mod(U2 - U1, p);
  const R = mod(S2 - S1, p);
  const HH = mod(H * H, p);
  const HHH = mod(H * HH, p);
  const X = mod(R * R - HHH - 2n * U1 * HH, p);
  return { X, Y: mod(R * (U1 * HH - X) - S1 * HHH, p), Z: mod(H * P.Z * Q.Z, p) };
}

function mul(c: CurveParams, k: bigint, P: Point): Point {
  if (!P) return null;
  let R: Jacobian = null;
  let A: Jacobian = { X: P.x, Y: P.y, Z: 1n };
  for (let e = k; e > 0n; e >>= 1n) {
    if (e & 1n) R = addJ(c, R, A);
    A = double(c, A);
  }
  if (!R) return null;
  const zi = inv(R.Z, c.p);
  const zi2 = mod(zi * zi, c.p);
  return { x: mod(R.X * zi2, c.p), y: mod(R.Y * zi2 * zi, c.p) };
}

/** Affine addition (used once per verification). */
function add(c: CurveParams, P: Point, Q: Point): Point {
  if (!P) return Q;
  if (!Q) return P;
  let l: bigint;
  if (P.x === Q.x) {
    if (mod(P.y + Q.y, c.p) === 0n) return null;
    l = mod((3n * P.x * P.x + c.a) * inv(2n * P.y, c.p), c.p);
  } else {
    l = mod((Q.y - P.y) * inv(Q.x - P.x, c.p), c.p);
  }
  const x = mod(l * l - P.x - Q.x, c.p);
  return { x, y: mod(l * (P.x - x) - P.y, c.p) };
}
const toInt = (b: Buffer): bigint => (b.length ? BigInt(`0x${b.toString('hex')}`) : 0n);
const toBytes = (n: bigint, len: number): Buffer => Buffer.from(n.toString(16).padStart(len * 2, '0'), 'hex');
/** The digest as an integer, truncated to the order's bit length (FIPS 186-4 §6.4). */
function digestInt(c: CurveParams, digest: Buffer): bigint {
  const bits = c.n.toString(2).length;
  const z = toInt(digest);
  const excess = digest.length * 8 - bits;
  return excess > 0 ? z >> BigInt(excess) : z;
}

function ecdsaSign(c: CurveParams, d: bigint, digest: Buffer): Buffer {
  const z = digestInt(c, digest);
  for (;;) {
    const k = mod(toInt(randomBytes(c.bytes + 8)), c.n - 1n) + 1n;
    const R = mul(c, k, { x: c.gx, y: c.gy });
    const r = R ? mod(R.x, c.n) : 0n;
    if (r === 0n) continue;
    const s = mod(inv(k, c.n) * (z + r * d), c.n);
    if (s === 0n) continue;
    return Buffer.concat([toBytes(r, c.bytes), toBytes(s, c.bytes)]);
  }
}

function ecdsaVerify(c: CurveParams, Q: { x: bigint; y: bigint }, digest: Buffer, signature: Buffer): boolean {
  if (signature.length !== 2 * c.bytes) return false;
  const r = toInt(signature.subarray(0, c.bytes));
  const s = toInt(signature.subarray(c.bytes));
  if (r <= 0n || r >= c.n || s <= 0n || s >= c.n) return false;
  const w = inv(s, c.n);
  const z = digestInt(c, digest);
  const R = add(c, mul(c, mod(z * w, c.n), { x: c.gx, y: c.gy }), mul(c, mod(r * w, c.n), Q));
  return R !== null && mod(R.x, c.n) === r;
}

const b64url = (b: Buffer): string => b.toString('base64url');
function bytesField(body: unknown, field: string): Buffer {
  const value = (body as Record<string, unknown> | null)?.[field];
  if (typeof value !== 'string' || !/^[A-Za-z0-9_-]*={0,2}$/.test(value)) throw badParameter(`Property '${field}' is required and must be base64url.`);
  return Buffer.from(value, 'base64url');
}

function algorithmFor(body: unknown, material: KeyMaterial): Algorithm {
  const name = (body as Record<string, unknown> | null)?.['alg'];
  const alg = typeof name === 'string' ? ALGORITHMS[name] : undefined;
  if (!alg) throw badParameter(`Property 'alg' must be one of ${Object.keys(ALGORITHMS).join(', ')}.`);
  const fits = alg.kind === 'ES' ? material.shape.kind === 'EC' && material.shape.crv === alg.curve : material.shape.kind === 'RSA';
  if (!fits) {
    const shape = material.shape.kind === 'RSA' ? `RSA-${material.shape.size}` : `EC ${material.shape.crv}`;
    throw new KeyVaultError(400, 'BadParameter', `Algorithm ${String(name)} is not valid for a key of type ${shape}.`);
  }
  return alg;
}

function ecPrivate(key: KeyObject): bigint {
  return toInt(Buffer.from(key.export({ format: 'jwk' }).d ?? '', 'base64url'));
}
function ecPublic(key: KeyObject): { x: bigint; y: bigint } {
  const jwk = key.export({ format: 'jwk' });
  return { x: toInt(Buffer.from(jwk.x ?? '', 'base64url')), y: toInt(Buffer.from(jwk.y ?? '', 'base64url')) };
}

function signDigest(material: KeyMaterial, alg: Algorithm, digest: Buffer): Buffer {
  if (alg.kind === 'ES') return ecdsaSign(CURVES[alg.curve], ecPrivate(material.privateKey), digest);
  if (alg.kind === 'RS') return privateEncrypt({ key: material.privateKey, padding: constants.RSA_PKCS1_PADDING }, Buffer.concat([DIGEST_INFO[alg.hash], digest]));
  // PSS over a digest: Node signs data only, so PS* are refused rather than emulated wrongly.
  throw new KeyVaultError(501, 'NotImplemented', 'The emulator signs with RS256/384/512 and ES256/384/512/256K; PS* is not emulated.');
}

function verifyDigest(material: KeyMaterial, alg: Algorithm, digest: Buffer, signature: Buffer): boolean {
  if (alg.kind === 'ES') return ecdsaVerify(CURVES[alg.curve], ecPublic(material.publicKey), digest, signature);
  if (alg.kind === 'RS') {
    try {
      const decoded = publicDecrypt({ key: material.publicKey, padding: constants.RSA_PKCS1_PADDING }, signature);
      return decoded.equals(Buffer.concat([DIGEST_INFO[alg.hash], digest]));
    } catch {
      return false;
    }
  }
  throw new KeyVaultError(501, 'NotImplemented', 'The emulator verifies RS256/384/512 and ES256/384/512/256K; PS* is not emulated.');
}

function operationTarget(vault: VaultContext, request: OperationRequest, operation: 'sign' | 'verify') {
  const record = requireRecord(vault.state.keys, 'key', objectName(request));
  const version = targetVersion(record, 'key', request.params.version);
  if (!version.attributes.enabled) throw forbidden(`Operation ${operation} is not allowed on a disabled key.`);
  if (!version.keyOps.includes(operation)) throw forbidden(`Operation ${operation} is not permitted on this key.`);
  const alg = algorithmFor(request.body, version.material);
  return { record, version, alg };
}

export function signWithKey(vault: VaultContext, request: OperationRequest): OperationResult {
  const { record, version, alg } = operationTarget(vault, request, 'sign');
  const digest = bytesField(request.body, 'value');
  if (digest.length !== DIGEST_LENGTH[alg.hash]) throw badParameter(`The digest must be ${DIGEST_LENGTH[alg.hash]} bytes for this algorithm; got ${digest.length}.`);
  return ok({ kid: ids.key(vault.url, record.name, version.version), value: b64url(signDigest(version.material, alg, digest)) });
}

export function verifyWithKey(vault: VaultContext, request: OperationRequest): OperationResult {
  const { version, alg } = operationTarget(vault, request, 'verify');
  const digest = bytesField(request.body, 'digest');
  const signature = bytesField(request.body, 'value');
  if (digest.length !== DIGEST_LENGTH[alg.hash]) return ok({ value: false });
  return ok({ value: verifyDigest(version.material, alg, digest, signature) });
}
