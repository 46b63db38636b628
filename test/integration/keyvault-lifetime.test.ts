/**
 * Key Vault's own lifetime actions, performed by the local endpoint on its clock: certificate AutoRenew (a new version
 * without any client request) and EmailContacts (a NearExpiry event only), key rotation policy Rotate and Notify —
 * each once per version, and only when due. While the renewal is pending, the certificate reads as its pending version.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeyVaultEventGridEvent } from '../../src/local/keyvault/types.js';
import type { LocalStack } from '../../src/local/stack.js';
import { clientsFor, rawRequest, startKeyVaultStack, testClock } from './helpers/keyvault.js';

const DAY = 86_400_000;
const VAULT = 'hpc-lifetime';
const clock = testClock('2026-06-01T00:00:00Z');
const events: KeyVaultEventGridEvent[] = [];
let stack: LocalStack;

beforeAll(async () => {
  // Operations settle only when the (test's) clock passes their due time: no race with a timer.
  stack = await startKeyVaultStack({ vaults: [VAULT], pendingDelayMs: 10_000, pendingTimers: false }, { now: clock.now });
  stack.keyVault.subscribe({ kind: 'callback', deliver: (event) => void events.push(event) });
  await stack.keyVault.seed({
    vaults: {
      [VAULT]: {
        certificates: [
          // 365 days of validity, 300 behind: AutoRenew at 80 % (day 292) is due.
          { name: 'auto-renewed', notBefore: '-300d', expires: '+65d', lifetimeActions: [{ action: 'AutoRenew', lifetimePercentage: 80 }], tags: { team: 'hpc' } },
          // Due in 5 days.
          { name: 'renewed-later', notBefore: '-287d', expires: '+78d', lifetimeActions: [{ action: 'AutoRenew', lifetimePercentage: 80 }] },
          { name: 'mailed', notBefore: '-345d', expires: '+20d', lifetimeActions: [{ action: 'EmailContacts', daysBeforeExpiry: 30 }] },
          // Key Vault cannot renew through an issuer it has no integration with.
          { name: 'external-ca', issuer: 'Unknown', notBefore: '-300d', expires: '+65d', lifetimeActions: [{ action: 'AutoRenew', lifetimePercentage: 80 }] },
          // Seeded without lifetime actions: EmailContacts (Rotor rotates it), never renewed by the vault.
          { name: 'rotor-managed', notBefore: '-300d', expires: '+65d' },
        ],
        keys: [
          { name: 'rotated', notBefore: '-40d', expires: '+50d', rotationExpiryTime: 'P90D', rotationActions: [{ action: 'Rotate', timeAfterCreate: 'P30D' }] },
          { name: 'notified', notBefore: '-80d', expires: '+10d', rotationActions: [{ action: 'Notify', timeBeforeExpiry: 'P30D' }] },
        ],
      },
    },
  });
}, 60_000);
afterAll(async () => {
  await stack?.stop();
});

async function currentVersion(name: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await rawRequest(stack, 'GET', `certificates/${name}?api-version=2025-07-01`, { token: stack.token, vault: VAULT });
  return { status: response.status, body: response.json() };
}

describe('lifetime actions on the emulator clock', () => {
  it('renews AutoRenew certificates, rotates Rotate keys and notifies for EmailContacts and Notify, once each', async () => {
    const kv = clientsFor(stack, VAULT);
    const before = await kv.certificates.getCertificate('auto-renewed');
    const keyBefore = await kv.keys.getKey('rotated');
    events.length = 0;

    const report = await stack.keyVault.runLifetimeActions();
    expect(report).toEqual({
      renewed: [`${VAULT}/auto-renewed`],
      rotated: [`${VAULT}/rotated`],
      // rotor-managed: seeded certificates default to EmailContacts at 80 %, which is due too.
      notified: [`${VAULT}/certificate/mailed`, `${VAULT}/certificate/rotor-managed`, `${VAULT}/key/notified`],
    });

    // The renewal is an operation of the vault's own: until it completes, the certificate reads as its pending version.
    const pending = await currentVersion('auto-renewed');
    expect(pending.body['attributes']).toMatchObject({ enabled: false });
    expect(pending.body).not.toHaveProperty('x5t');
    expect(pending.body['pending']).toEqual({ id: `${stack.keyVault.vaultUrl(VAULT)}/certificates/auto-renewed/pending` });

    clock.advance(9_000);
    expect((await currentVersion('auto-renewed')).body['attributes']).toMatchObject({ enabled: false });
    clock.advance(1_000);
    const renewed = await kv.certificates.getCertificate('auto-renewed');
    expect(renewed.properties.version).not.toBe(before.properties.version);
    expect(renewed.properties.enabled).toBe(true);
    expect(renewed.properties.tags).toEqual({ team: 'hpc' });
    expect(renewed.properties.expiresOn?.getTime()).toBeGreaterThan(clock.now().getTime() + 300 * DAY);

    const keyAfter = await kv.keys.getKey('rotated');
    expect(keyAfter.properties.version).not.toBe(keyBefore.properties.version);
    expect(keyAfter.properties.expiresOn).toEqual(new Date(Date.parse('2026-06-01T00:00:00Z') + 90 * DAY));

    await stack.keyVault.drainEvents();
    expect(events.map((e) => `${e.eventType} ${e.subject}`).sort()).toEqual([
      'Microsoft.KeyVault.CertificateNearExpiry mailed',
      'Microsoft.KeyVault.CertificateNearExpiry rotor-managed',
      'Microsoft.KeyVault.CertificateNewVersionCreated auto-renewed',
      'Microsoft.KeyVault.KeyNearExpiry notified',
      'Microsoft.KeyVault.KeyNewVersionCreated rotated',
    ]);

    // Nothing is due twice; the Unknown issuer's and the Rotor-managed certificates stay as they are.
    expect(await stack.keyVault.runLifetimeActions()).toEqual({ renewed: [], rotated: [], notified: [] });
    for (const name of ['external-ca', 'rotor-managed']) {
      const versions = [];
      for await (const v of kv.certificates.listPropertiesOfCertificateVersions(name)) versions.push(v);
      expect(versions, name).toHaveLength(1);
    }
  });

  it('acts when the clock reaches the trigger, also through the control API', async () => {
    const kv = clientsFor(stack, VAULT);
    const before = await kv.certificates.getCertificate('renewed-later');
    clock.advance(4 * DAY);
    const early = await rawRequest(stack, 'POST', '_rotor/lifetime-actions', { token: stack.token, vault: VAULT });
    expect(early.json()).toMatchObject({ renewed: [] });
    clock.advance(1 * DAY + 60_000);
    const due = await rawRequest(stack, 'POST', '_rotor/lifetime-actions', { token: stack.token, vault: VAULT });
    expect(due.json()).toMatchObject({ renewed: [`${VAULT}/renewed-later`] });
    clock.advance(10_000);
    const after = await kv.certificates.getCertificate('renewed-later');
    expect(after.properties.version).not.toBe(before.properties.version);
  });
});
