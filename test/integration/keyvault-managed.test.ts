/**
 * Coexistence with Key Vault's own renewal (issue J, item 4), through the real SDK clients against the local stack:
 * the emulator performs the policies' lifetime actions (certificate AutoRenew, key rotation policy Rotate) on demand,
 * as Key Vault does on its own schedule.
 *
 * - respect (default): a due certificate with AutoRenew and a due key with Rotate are KeyVaultManaged — Rotor creates
 *   no version; when Key Vault's renewal arrives (NewVersionCreated), Rotor verifies its consumers; one renewal per
 *   due point. A renewal that did not happen by the trigger plus the grace period is RenewalOverdue.
 * - takeOver: Rotor switches AutoRenew to EmailContacts (audited) and renews itself; Key Vault renews nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppServices } from '../../src/app/services.js';
import { needsAttention } from '../../src/core/attention.js';
import { runWorkItem } from '../../src/core/rotor.js';
import { planVault } from '../../src/core/scan.js';
import { armEmulator, DEFAULT_SUBSCRIPTION_ID, type ArmEmulator } from '../../src/local/arm/index.js';
import { quietLogger, startTestEnv, type TestEnv } from '../support/local.js';

const VAULT = 'kv-managed';
const RG = 'hpc-rg';
const MSI = '6b2c7d2e-4f1a-4c59-9c1e-3d7a5a2f0b11';
const delivery = { dequeueCount: 1, maxDequeueCount: 5 };
const autoRenew = [{ action: 'AutoRenew' as const, lifetimePercentage: 80 }];
let t: TestEnv;
let arm: ArmEmulator;
let seq = 0;

const accountId = `/subscriptions/${DEFAULT_SUBSCRIPTION_ID}/resourceGroups/${RG}/providers/Microsoft.Batch/batchAccounts/acct`;

async function services(defaults: Record<string, unknown> = {}): Promise<AppServices> {
  return t.services({
    vaults: [{ name: VAULT, url: t.vaultUrl(VAULT) }],
    defaults,
    rotation: { pollIntervalSeconds: 0.05 },
    consumers: { batch: [{ accountId }] },
  });
}

const item = (objectType: 'certificate' | 'key', objectName: string, hint?: string) =>
  ({ kind: 'object', vault: VAULT, objectType, objectName, runId: `run-${++seq}`, trigger: hint ? 'eventgrid' : 'timer', ...(hint ? { hint } : {}) }) as const;

/** Runs an object work item; its outcome (KeyVaultManaged, Verifying, ...). */
async function outcomeOf(objectType: 'certificate' | 'key', objectName: string, s: AppServices, hint?: string): Promise<string> {
  const result = await runWorkItem(item(objectType, objectName, hint), s, delivery, quietLogger);
  return result.kind === 'object' ? result.result.outcome : result.kind;
}

const versions = (type: 'certificate' | 'key', name: string): string | undefined => t.stack.keyVault.latestVersion(VAULT, type, name);
const rowsOf = async (name: string) => (await t.auditRows()).filter((r) => r.objectName === name);

beforeAll(async () => {
  t = await startTestEnv({
    keyVault: {
      vaults: [VAULT],
      pendingDelayMs: 50,
      seed: {
        vaults: {
          [VAULT]: {
            certificates: [
              // 365 days, 293 behind: Key Vault's AutoRenew (80 %, day 292) and Rotor's default (80 %) are both due; a day late.
              { name: 'auto-cert', notBefore: '-293d', expires: '+72d', lifetimeActions: autoRenew },
              // Day 300: eight days past Key Vault's trigger, more than the 48 h grace.
              { name: 'overdue-cert', notBefore: '-300d', expires: '+65d', lifetimeActions: autoRenew },
              // Key Vault cannot renew through the Unknown issuer: Rotor's to report, not Key Vault's.
              { name: 'external-cert', issuer: 'Unknown', notBefore: '-293d', expires: '+72d', lifetimeActions: autoRenew },
            ],
            keys: [
              // Due for Rotor (10 days left); the rotation policy's Rotate was due yesterday (11 days before expiry).
              { name: 'auto-key', kty: 'RSA', keySize: 2048, notBefore: '-80d', expires: '+10d', rotationActions: [{ action: 'Rotate', timeBeforeExpiry: 'P11D' }] },
            ],
          },
        },
      },
    },
    services: { arm: armEmulator() },
  });
  arm = t.stack.services.get('arm') as ArmEmulator;
  const ext = { kind: 'keyVault' as const, observedCertificates: [{ url: `${t.vaultUrl(VAULT)}secrets/auto-cert` }], pollingIntervalInS: 60, msiClientId: MSI };
  arm.seed({
    batchAccounts: [{ resourceGroup: RG, name: 'acct' }],
    batchPools: [{ resourceGroup: RG, account: 'acct', name: 'auto-pool', os: 'linux', identities: [{ name: 'id-nodes', clientId: MSI }], extensions: [ext] }],
  });
}, 120_000);

afterAll(async () => {
  await t?.stop();
});

describe('respect (default): Key Vault renews, Rotor verifies', () => {
  it('reports a due AutoRenew certificate and a due Rotate key as KeyVaultManaged once, and creates no version', async () => {
    const s = await services();
    const before = { cert: versions('certificate', 'auto-cert'), key: versions('key', 'auto-key') };
    expect(await outcomeOf('certificate', 'auto-cert', s)).toBe('KeyVaultManaged');
    expect(await outcomeOf('key', 'auto-key', s)).toBe('KeyVaultManaged');
    // Reported once per version: the next run (the nightly scan, another event) says nothing new.
    expect(await outcomeOf('certificate', 'auto-cert', s)).toBe('AlreadyReported');
    expect(await outcomeOf('key', 'auto-key', s)).toBe('AlreadyReported');
    expect({ cert: versions('certificate', 'auto-cert'), key: versions('key', 'auto-key') }).toEqual(before);
    expect(t.stack.keyVault.counters(VAULT)['certificates.create'] ?? 0).toBe(0);
    for (const name of ['auto-cert', 'auto-key']) {
      const rows = await rowsOf(name);
      expect(rows.map((r) => r.action)).toEqual(['Detected', 'KeyVaultManaged']);
      expect(rows[1]).toMatchObject({ outcome: 'Info', reason: 'KeyVaultManaged' });
      expect(rows[1]?.detail).toMatch(/Key Vault renews this (certificate|key) itself/);
    }
  });

  it('reports RenewalOverdue (ActionRequired) when Key Vault has not renewed by its trigger plus the grace period', async () => {
    // Key Vault's renewal of overdue-cert was due eight days ago and has not happened (its lifetime actions have not
    // run yet here, as when the issuer or the vault's permissions are broken).
    const s = await services();
    const before = versions('certificate', 'overdue-cert');
    expect(await outcomeOf('certificate', 'overdue-cert', s)).toBe('ManualActionRequired');
    const rows = await rowsOf('overdue-cert');
    expect(rows.map((r) => r.action)).toEqual(['Detected', 'RenewalOverdue']);
    expect(rows[1]).toMatchObject({ outcome: 'ActionRequired', reason: 'RenewalOverdue' });
    expect(rows[1]?.detail).toContain('keyVaultLifetimeActions');
    expect(versions('certificate', 'overdue-cert')).toBe(before); // respect: still Key Vault's to renew
    // The dry run and Needs attention say the same: overdue-cert is overdue, auto-cert is Key Vault's (no problem).
    const plan = await planVault({ config: s.config, gateway: s.gateway(s.config.vaults[0]!), clock: s.clock });
    const planned = Object.fromEntries(plan.map((p) => [p.name, `${p.action}:${p.reason}`]));
    expect(planned).toMatchObject({ 'overdue-cert': 'report:RenewalOverdue', 'auto-cert': 'report:KeyVaultManaged', 'auto-key': 'report:KeyVaultManaged' });
    const attention = needsAttention([], plan.map((p) => ({ ...p, vault: VAULT })), s.clock.now());
    expect(attention.filter((a) => a.name.endsWith('-cert') && a.name !== 'external-cert').map((a) => `${a.kind} ${a.name}`)).toEqual(['overdue overdue-cert']);
  });

  it("verifies the consumers of Key Vault's renewal when its NewVersionCreated event arrives, and renews nothing itself", async () => {
    const s = await services();
    const before = versions('certificate', 'auto-cert');
    const report = await t.stack.keyVault.runLifetimeActions();
    expect(report.renewed).toContain(`${VAULT}/auto-cert`);
    expect(report.renewed).not.toContain(`${VAULT}/external-cert`);
    expect(report.rotated).toContain(`${VAULT}/auto-key`);
    // The renewal is a certificate operation like any other: wait for it to finish.
    const certificates = t.clients(VAULT).certificates;
    const done = await (await certificates.getCertificateOperation('auto-cert', { intervalInMs: 50 })).pollUntilDone();
    const renewed = done.properties.version!;
    expect(renewed).not.toBe(before);

    await outcomeOf('certificate', 'auto-cert', s, 'Microsoft.KeyVault.CertificateNewVersionCreated');
    const observed = (await rowsOf('auto-cert')).find((r) => r.action === 'NewVersionObserved');
    expect(observed).toMatchObject({ reason: 'KeyVaultManaged', version: renewed });
    const state = (await s.states.get(VAULT, 'certificate', 'auto-cert'))!.value;
    expect(state).toMatchObject({ status: 'Verifying', fromVersion: before, toVersion: renewed });
    const consumers = await s.consumerResults!.list(state.rotationId!);
    expect(consumers.map((c) => `${c.label}: ${c.status}`)).toEqual(['Batch pool acct/auto-pool: Pending']);

    // The renewed certificate is no longer due: a later scan creates nothing, and Key Vault does not renew it again.
    await runWorkItem({ kind: 'scanVault', vault: VAULT, runId: `run-${++seq}`, trigger: 'timer' }, s, delivery, quietLogger);
    expect((await t.stack.keyVault.runLifetimeActions()).renewed).not.toContain(`${VAULT}/auto-cert`);
    expect(versions('certificate', 'auto-cert')).toBe(renewed);
    expect(t.stack.keyVault.counters(VAULT)['certificates.create'] ?? 0).toBe(0);
  });

  it("leaves a certificate whose issuer Key Vault cannot use to Rotor's own rules", async () => {
    const s = await services();
    expect(await outcomeOf('certificate', 'external-cert', s)).not.toBe('KeyVaultManaged');
    expect((await rowsOf('external-cert')).some((r) => r.action === 'KeyVaultManaged')).toBe(false);
  });
});

describe('takeOver: Rotor renews, Key Vault no longer does', () => {
  it('switches AutoRenew to EmailContacts (audited), creates one version, and Key Vault renews nothing', async () => {
    // Seeded now: the lifetime actions run by the tests above would have renewed it.
    await t.stack.keyVault.seed({ vaults: { [VAULT]: { certificates: [{ name: 'taken-cert', notBefore: '-293d', expires: '+72d', lifetimeActions: autoRenew }] } } });
    const s = await services({ keyVaultLifetimeActions: 'takeOver' });
    const before = versions('certificate', 'taken-cert');
    expect(await outcomeOf('certificate', 'taken-cert', s)).toBe('Rotated'); // no consumer uses it
    const after = versions('certificate', 'taken-cert');
    expect(after).not.toBe(before);
    const policy = await t.clients(VAULT).certificates.getCertificatePolicy('taken-cert');
    expect(policy.lifetimeActions?.map((a) => a.action)).toEqual(['EmailContacts']);
    const actions = (await rowsOf('taken-cert')).map((r) => r.action);
    expect(actions.slice(0, 4)).toEqual(['Detected', 'RotationStarted', 'KeyVaultRenewalTakenOver', 'VersionCreated']);
    // One due point, one renewal: Key Vault's lifetime actions leave the certificate alone now.
    expect((await t.stack.keyVault.runLifetimeActions()).renewed).not.toContain(`${VAULT}/taken-cert`);
    expect(versions('certificate', 'taken-cert')).toBe(after);
  });
});
