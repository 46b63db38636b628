/**
 * Sign and verify in the Key Vault emulator through the official CryptographyClient (RS256 with RSA 3072, ES256 with
 * EC P-256, and the other JWS algorithms): signatures check with Node's own verifier over the signed data, the
 * emulator's verify agrees, and a changed digest or signature, a disabled key or a key without the operation fail.
 */
import { createHash, createPublicKey, verify as nodeVerify } from 'node:crypto';
import { CryptographyClient, type KeyVaultKey } from '@azure/keyvault-keys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeyVaultClients } from '../../src/adapters/azure-clients.js';
import { AUDIT_VAULT, DIGEST_KEY_NAME, type LocalStack } from '../../src/local/stack.js';
import { clientsFor, startKeyVaultStack } from './helpers/keyvault.js';

let stack: LocalStack;
let kv: KeyVaultClients;

const cryptoClient = (key: KeyVaultKey | string): CryptographyClient =>
  new CryptographyClient(typeof key === 'string' ? key : (key.id ?? ''), stack.credential, {
    disableChallengeResourceVerification: true,
    tlsOptions: { ca: stack.ca.certPem },
  });

function publicKeyOf(key: KeyVaultKey) {
  const k = key.key!;
  const b = (v: Uint8Array | undefined): string => Buffer.from(v ?? new Uint8Array()).toString('base64url');
  return createPublicKey({
    key: k.kty?.startsWith('EC') ? { kty: 'EC', crv: k.crv, x: b(k.x), y: b(k.y) } : { kty: 'RSA', n: b(k.n), e: b(k.e) },
    format: 'jwk',
  });
}

beforeAll(async () => {
  stack = await startKeyVaultStack({}, { auditSigning: true });
  kv = clientsFor(stack);
});
afterAll(async () => stack?.stop());

const HASH = { RS256: 'sha256', RS384: 'sha384', RS512: 'sha512', ES256: 'sha256', ES384: 'sha384', ES512: 'sha512' } as const;

describe('Key Vault emulator: sign and verify through CryptographyClient', () => {
  it.each([
    ['RS256', () => kv.keys.createRsaKey('sign-rsa3072', { keySize: 3072 })],
    ['RS384', () => kv.keys.createRsaKey('sign-rsa2048', { keySize: 2048 })],
    ['RS512', () => kv.keys.createRsaKey('sign-rsa2048b', { keySize: 2048 })],
    ['ES256', () => kv.keys.createEcKey('sign-p256', { curve: 'P-256' })],
    ['ES384', () => kv.keys.createEcKey('sign-p384', { curve: 'P-384' })],
    ['ES512', () => kv.keys.createEcKey('sign-p521', { curve: 'P-521' })],
  ] as const)('%s: the signature verifies with the public key and with the emulator', async (alg, create) => {
    const key = await create();
    const client = cryptoClient(key);
    const data = Buffer.from(`a digest of the audit log, signed with ${alg}`);
    const digest = createHash(HASH[alg]).update(data).digest();
    const signed = await client.sign(alg, digest);
    expect(signed.keyID).toBe(key.id);
    const signature = Buffer.from(signed.result);
    const dsaEncoding = alg.startsWith('ES') ? 'ieee-p1363' : undefined;
    expect(nodeVerify(HASH[alg], data, { key: publicKeyOf(key), ...(dsaEncoding ? { dsaEncoding } : {}) }, signature)).toBe(true);
    expect((await client.verify(alg, digest, signature)).result).toBe(true);
    // A different digest, or a flipped bit in the signature, does not verify.
    const other = createHash(HASH[alg]).update('another digest').digest();
    expect((await client.verify(alg, other, signature)).result).toBe(false);
    const flipped = Buffer.from(signature);
    flipped[5] = (flipped[5] ?? 0) ^ 1;
    expect((await client.verify(alg, digest, flipped)).result).toBe(false);
  });

  it('refuses an algorithm that does not fit the key, a wrong digest length and a disabled key', async () => {
    const key = await kv.keys.createEcKey('sign-refusals', { curve: 'P-256' });
    const client = cryptoClient(key);
    await expect(client.sign('RS256', createHash('sha256').update('x').digest())).rejects.toMatchObject({ statusCode: 400 });
    await expect(client.sign('ES256', Buffer.alloc(20))).rejects.toMatchObject({ statusCode: 400 });
    await kv.keys.updateKeyProperties('sign-refusals', key.properties.version ?? '', { enabled: false });
    await expect(cryptoClient(`${key.id}`).sign('ES256', createHash('sha256').update('x').digest())).rejects.toThrow();
  });

  it('a key created without the sign operation cannot sign', async () => {
    const key = await kv.keys.createRsaKey('wrap-only', { keySize: 2048, keyOps: ['wrapKey', 'unwrapKey'] });
    // The SDK checks the key's operations itself; the emulator refuses too (raw remote call by versioned id).
    await expect(cryptoClient(key).sign('RS256', createHash('sha256').update('x').digest())).rejects.toThrow(/sign/);
  });

  it("the local stack creates Rotor's digest signing key (EC P-256, not exportable, sign and verify only)", async () => {
    const audit = clientsFor(stack, AUDIT_VAULT);
    const key = await audit.keys.getKey(DIGEST_KEY_NAME);
    expect(key.keyType).toBe('EC');
    expect(key.key?.crv).toBe('P-256');
    expect(key.keyOperations?.sort()).toEqual(['sign', 'verify']);
    expect(key.properties.exportable).toBeFalsy();
    expect(stack.settings()['ROTOR_DIGEST_KEY_ID']).toBe(`${stack.keyVault.vaultUrl(AUDIT_VAULT)}/keys/${DIGEST_KEY_NAME}`);
  });
});
