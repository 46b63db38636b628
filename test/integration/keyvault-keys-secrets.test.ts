/**
 * The official KeyClient and SecretClient against the local Key Vault endpoint: keys (create, get, rotate, rotation
 * policy, update, lists) and secrets (set, get, update, lists without values), paging and error mapping.
 */
import { createPublicKey } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeyVaultClients } from '../../src/adapters/azure-clients.js';
import type { LocalStack } from '../../src/local/stack.js';
import { clientsFor, rawRequest, startKeyVaultStack, testClock } from './helpers/keyvault.js';

const clock = testClock('2026-05-10T08:00:00Z');
let stack: LocalStack;
let kv: KeyVaultClients;

beforeAll(async () => {
  stack = await startKeyVaultStack({}, { now: clock.now });
  kv = clientsFor(stack);
});
afterAll(async () => {
  await stack?.stop();
});

describe('keys', () => {
  it('creates RSA keys and returns only the public JWK', async () => {
    const key = await kv.keys.createRsaKey('disk-cmk', { keySize: 2048, tags: { use: 'hpc-cache' }, keyOps: ['wrapKey', 'unwrapKey'] });
    expect(key.keyType).toBe('RSA');
    expect(key.keyOperations).toEqual(['wrapKey', 'unwrapKey']);
    expect(key.properties.version).toMatch(/^[0-9a-f]{32}$/);
    expect(key.properties.tags).toEqual({ use: 'hpc-cache' });
    expect(key.properties.createdOn).toEqual(clock.now());
    const jwk = key.key as Record<string, unknown>;
    expect(jwk['d']).toBeUndefined();
    const publicKey = createPublicKey({
      key: { kty: 'RSA', n: Buffer.from(key.key?.n as Uint8Array).toString('base64url'), e: Buffer.from(key.key?.e as Uint8Array).toString('base64url') },
      format: 'jwk',
    });
    expect(publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
  });

  it('creates EC and HSM keys with the requested curve and type', async () => {
    const ec = await kv.keys.createEcKey('signing', { curve: 'P-521' });
    expect(ec.key).toMatchObject({ kty: 'EC', crv: 'P-521' });
    expect(ec.key?.x?.length).toBe(66);
    expect(ec.keyOperations).toEqual(['sign', 'verify']);
    const hsm = await kv.keys.createRsaKey('hsm-key', { hsm: true, keySize: 3072 });
    expect(hsm.keyType).toBe('RSA-HSM');
    expect(hsm.key?.n?.length).toBe(384);
  });

  it('rotates to a new version of the same type and size, expiring per the rotation policy', async () => {
    const policy = await kv.keys.updateKeyRotationPolicy('disk-cmk', {
      lifetimeActions: [
        { action: 'Rotate', timeAfterCreate: 'P90D' },
        { action: 'Notify', timeBeforeExpiry: 'P30D' },
      ],
      expiresIn: 'P1Y',
    });
    expect(policy).toMatchObject({ expiresIn: 'P1Y', lifetimeActions: [{ action: 'Rotate', timeAfterCreate: 'P90D' }, { action: 'Notify', timeBeforeExpiry: 'P30D' }] });
    expect(await kv.keys.getKeyRotationPolicy('disk-cmk')).toMatchObject({ expiresIn: 'P1Y', createdOn: clock.now() });

    const before = await kv.keys.getKey('disk-cmk');
    const rotated = await kv.keys.rotateKey('disk-cmk');
    expect(rotated.properties.version).not.toBe(before.properties.version);
    expect(rotated.keyType).toBe('RSA');
    expect(rotated.key?.n?.length).toBe(256);
    expect(Buffer.from(rotated.key?.n as Uint8Array)).not.toEqual(Buffer.from(before.key?.n as Uint8Array));
    expect(rotated.properties.tags).toEqual({ use: 'hpc-cache' });
    expect(rotated.properties.expiresOn).toEqual(new Date('2027-05-10T08:00:00Z'));
    expect((await kv.keys.getKey('disk-cmk')).id).toBe(rotated.id);
    expect((await kv.keys.getKey('disk-cmk', { version: before.properties.version as string })).id).toBe(before.id);
  });

  it("answers Key Vault's default rotation policy for a key without one", async () => {
    expect(await kv.keys.getKeyRotationPolicy('signing')).toMatchObject({ lifetimeActions: [{ action: 'Notify', timeBeforeExpiry: 'P30D' }] });
  });

  it('updates properties of a version', async () => {
    const key = await kv.keys.getKey('signing');
    const updated = await kv.keys.updateKeyProperties('signing', key.properties.version as string, {
      enabled: false,
      expiresOn: new Date('2026-12-31T00:00:00Z'),
      tags: { state: 'retiring' },
    });
    expect(updated.properties).toMatchObject({ enabled: false, expiresOn: new Date('2026-12-31T00:00:00Z'), tags: { state: 'retiring' } });
  });

  it('pages keys and key versions, honouring maxPageSize', async () => {
    await stack.keyVault.seed({
      vaults: { 'rotor-local': { keys: [...Array.from({ length: 27 }, (_, i) => ({ name: `bulk-key-${i}` })), { name: 'old-key', olderVersions: 26 }] } },
    });
    const pages: number[] = [];
    const names: string[] = [];
    for await (const page of kv.keys.listPropertiesOfKeys().byPage()) {
      pages.push(page.length);
      names.push(...page.map((p) => p.name));
    }
    expect(pages.every((n) => n <= 25)).toBe(true);
    expect(names).toEqual(expect.arrayContaining(['bulk-key-0', 'bulk-key-26', 'old-key', 'disk-cmk']));
    expect(names.length).toBe(new Set(names).size);

    const versionPages: number[] = [];
    for await (const page of kv.keys.listPropertiesOfKeyVersions('old-key').byPage({ maxPageSize: 10 })) versionPages.push(page.length);
    expect(versionPages).toEqual([10, 10, 7]);
    let all = 0;
    for await (const version of kv.keys.listPropertiesOfKeyVersions('old-key')) all += version.version ? 1 : 0;
    expect(all).toBe(27);
  });

  it('maps 404 to KeyNotFound', async () => {
    await expect(kv.keys.getKey('missing-key')).rejects.toMatchObject({ statusCode: 404, code: 'KeyNotFound' });
    await expect(kv.keys.rotateKey('missing-key')).rejects.toMatchObject({ statusCode: 404, code: 'KeyNotFound' });
    await expect(kv.keys.getKeyRotationPolicy('missing-key')).rejects.toMatchObject({ statusCode: 404, code: 'KeyNotFound' });
  });
});

describe('secrets', () => {
  it('sets and gets secrets, latest and by version', async () => {
    const first = await kv.secrets.setSecret('node-password', 'v1-value', {
      contentType: 'text/plain',
      tags: { cluster: 'hpc1' },
      expiresOn: new Date('2026-08-01T00:00:00Z'),
    });
    expect(first.value).toBe('v1-value');
    expect(first.properties).toMatchObject({ contentType: 'text/plain', tags: { cluster: 'hpc1' }, expiresOn: new Date('2026-08-01T00:00:00Z'), enabled: true });
    const second = await kv.secrets.setSecret('node-password', 'v2-value');
    expect((await kv.secrets.getSecret('node-password')).value).toBe('v2-value');
    expect((await kv.secrets.getSecret('node-password', { version: first.properties.version as string })).value).toBe('v1-value');
    expect(second.properties.version).not.toBe(first.properties.version);
  });

  it('updates properties, and refuses to read a disabled version', async () => {
    const { properties } = await kv.secrets.getSecret('node-password');
    const updated = await kv.secrets.updateSecretProperties('node-password', properties.version as string, {
      enabled: false,
      contentType: 'application/json',
      tags: { cluster: 'hpc2' },
    });
    expect(updated).toMatchObject({ enabled: false, contentType: 'application/json', tags: { cluster: 'hpc2' } });
    await expect(kv.secrets.getSecret('node-password')).rejects.toMatchObject({ statusCode: 403, code: 'Forbidden' });
  });

  it('lists secrets and versions without values, 25 per page', async () => {
    for (let i = 0; i < 27; i++) await kv.secrets.setSecret('rotated-often', `value-${i}`);
    await stack.keyVault.seed({ vaults: { 'rotor-local': { secrets: Array.from({ length: 26 }, (_, i) => ({ name: `bulk-secret-${i}` })) } } });

    const pages: number[] = [];
    for await (const page of kv.secrets.listPropertiesOfSecretVersions('rotated-often').byPage()) {
      pages.push(page.length);
      for (const item of page) expect((item as { value?: unknown }).value).toBeUndefined();
    }
    expect(pages).toEqual([25, 2]);

    const names: string[] = [];
    for await (const item of kv.secrets.listPropertiesOfSecrets()) names.push(item.name);
    expect(names.length).toBeGreaterThan(25);
    expect(names).toEqual(expect.arrayContaining(['bulk-secret-25', 'node-password', 'rotated-often']));

    const raw = await rawRequest(stack, 'GET', 'secrets?api-version=2025-07-01&maxresults=5', { token: stack.token });
    const body = raw.json<{ value: Record<string, unknown>[]; nextLink: string }>();
    expect(body.value).toHaveLength(5);
    for (const item of body.value) expect(Object.keys(item)).not.toContain('value');
    expect(body.nextLink).toMatch(new RegExp(`^${stack.keyVault.vaultUrl('rotor-local')}/secrets\\?.*\\$skiptoken=`));
    expect(body.nextLink).toContain('maxresults=5');
  });

  it('maps 404 to SecretNotFound', async () => {
    await expect(kv.secrets.getSecret('missing-secret')).rejects.toMatchObject({ statusCode: 404, code: 'SecretNotFound' });
    await expect(kv.secrets.getSecret('node-password', { version: 'f'.repeat(32) })).rejects.toMatchObject({ statusCode: 404, code: 'SecretNotFound' });
  });

  it("forbids setting a certificate's managed secret", async () => {
    await stack.keyVault.seed({ vaults: { 'rotor-local': { certificates: [{ name: 'managed-cert' }] } } });
    await expect(kv.secrets.setSecret('managed-cert', 'x')).rejects.toMatchObject({ statusCode: 403 });
    await expect(kv.keys.rotateKey('managed-cert')).rejects.toMatchObject({ statusCode: 403 });
  });
});
