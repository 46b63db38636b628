import { describe, expect, it } from 'vitest';
import type { BatchPoolModel, HpcCacheModel, HpcPackNodeModel, TlsProbeResult } from '../../src/core/consumers.js';
import { processObject, processVault } from '../../src/core/scan.js';
import { ConsumerVerifier, type ConsumerGateway } from '../../src/core/verification.js';
import type { WorkItem } from '../../src/core/work.js';
import { baseConfig, DAY, harness, MemoryConsumerStore } from '../support/fakes.js';

class FakeConsumers implements ConsumerGateway {
  pools: BatchPoolModel[] = [];
  nodes: HpcPackNodeModel[] = [];
  presented = new Map<string, TlsProbeResult>();
  caches: HpcCacheModel[] = [];
  async *batchPools() {
    yield* this.pools;
  }
  async hpcPackNodes() {
    return this.nodes;
  }
  async probeTls(host: string): Promise<TlsProbeResult> {
    return this.presented.get(host) ?? { kind: 'timeout' };
  }
  async *hpcCaches() {
    yield* this.caches;
  }
  async vaultProtection() {
    return { softDeleteEnabled: true, purgeProtectionEnabled: true };
  }
}

function setup(extra: Record<string, unknown> = {}) {
  const config = baseConfig({
    consumers: { hpcPack: [{ name: 'cluster1', certificate: { vault: 'hpc-kv', name: 'hpc-node-comm' }, nodes: [{ name: 'x', host: 'x' }] }] },
    verification: { deadlineHours: 2, recheckMinutes: 30 },
    ...extra,
  });
  const h = harness(config);
  const consumers = new FakeConsumers();
  const queued: Array<{ item: WorkItem; delaySeconds?: number }> = [];
  const queue = { enqueue: async (item: WorkItem, o: { delaySeconds?: number } = {}) => void queued.push({ item, ...o }) };
  const rows = new MemoryConsumerStore();
  const ctx = () => h.ctx({ hooks: new ConsumerVerifier(consumers, rows), queue });
  const now = h.clock.now().getTime();
  h.vault.add('certificate', 'hpc-node-comm', {
    notBefore: new Date(now - 355 * DAY),
    expiresOn: new Date(now + 10 * DAY),
  });
  const old = h.vault.current('certificate', 'hpc-node-comm')!;
  consumers.nodes = [
    { name: 'cn01', state: 'Online', health: 'OK', host: 'cn01', port: 40002 },
    { name: 'cn02', state: 'Online', health: 'OK', host: 'cn02', port: 40002 },
    { name: 'cn03', state: 'Offline', health: 'Error', host: 'cn03', port: 40002 },
  ];
  return { h, consumers, queued, ctx, old, rows };
}

describe('consumer verification and convergence', () => {
  it('stays Verifying while a node is stale, re-checks from a delayed queue message, then completes', async () => {
    const { h, consumers, queued, ctx, old, rows } = setup();
    consumers.presented.set('cn01', { kind: 'presented', thumbprint: old.thumbprint! });
    consumers.presented.set('cn02', { kind: 'presented', thumbprint: old.thumbprint! });
    expect((await processObject('certificate', 'hpc-node-comm', undefined, ctx())).outcome).toBe('Verifying');
    const state = h.states.value('hpc-kv', 'certificate', 'hpc-node-comm')!;
    expect(state.status).toBe('Verifying');
    expect(state.verification).toMatchObject({ checks: 1, counts: { verified: 0, stale: 2, skipped: 1, unreachable: 0, pending: 0, misconfigured: 0 } });
    expect((await rows.list(state.rotationId!)).map((c) => [c.label, c.status])).toEqual([
      ['HPC Pack node cluster1/cn01', 'Stale'],
      ['HPC Pack node cluster1/cn02', 'Stale'],
      ['HPC Pack node cluster1/cn03', 'Skipped'],
    ]);
    expect(queued).toHaveLength(1);
    expect(queued[0]).toMatchObject({ item: { kind: 'verify', objectName: 'hpc-node-comm', rotationId: state.rotationId }, delaySeconds: 1800 });
    expect(h.audit.rows.filter((r) => r.action === 'ConsumerStale').map((r) => r.consumer)).toEqual([
      expect.stringContaining('cn01'),
      expect.stringContaining('cn02'),
    ]);

    const created = h.vault.current('certificate', 'hpc-node-comm')!;
    consumers.presented.set('cn01', { kind: 'presented', thumbprint: created.thumbprint!.toLowerCase() });
    consumers.presented.set('cn02', { kind: 'presented', thumbprint: created.thumbprint! });
    h.clock.advance(31 * 60_000);
    await processVault(ctx());
    // cn03 is offline: it cannot be checked, so the rotation keeps waiting for it.
    expect(h.states.value('hpc-kv', 'certificate', 'hpc-node-comm')?.status).toBe('Verifying');
    consumers.nodes = consumers.nodes.map((n) => (n.name === 'cn03' ? { ...n, state: 'Online', health: 'OK' } : n));
    consumers.presented.set('cn03', { kind: 'presented', thumbprint: created.thumbprint! });
    h.clock.advance(31 * 60_000);
    await processVault(ctx());
    expect(h.states.value('hpc-kv', 'certificate', 'hpc-node-comm')?.status).toBe('Completed');
    const completed = h.audit.rows.find((r) => r.action === 'RotationCompleted')!;
    expect(completed.detail).toContain('3 of 3 consumers verified');
    expect(h.vault.objects.get('certificate/hpc-node-comm')!.versions[0]!.enabled).toBe(true);
  });

  it('fails at the deadline listing the stale consumers, keeping the previous version enabled', async () => {
    const { h, consumers, ctx, old } = setup();
    consumers.presented.set('cn01', { kind: 'presented', thumbprint: old.thumbprint! });
    await processObject('certificate', 'hpc-node-comm', undefined, ctx());
    h.clock.advance(2 * 3_600_000 + 1000);
    await processVault(ctx());
    const state = h.states.value('hpc-kv', 'certificate', 'hpc-node-comm')!;
    expect(state.status).toBe('Failed');
    const failed = h.audit.rows.find((r) => r.action === 'RotationFailed')!;
    expect(failed.detail).toMatch(/did not converge.*cn01: Stale \(PresentsOldCertificate\).*cn02: Unreachable \(Timeout\)/);
    expect(failed.detail).toContain('previous version');
    expect(h.vault.objects.get('certificate/hpc-node-comm')!.versions[0]!.enabled).toBe(true);
  });

  it('disables the previous version only after convergence, and only when configured', async () => {
    for (const disable of [true, false]) {
      const { h, consumers, ctx, old } = setup({ verification: { disablePreviousVersion: disable, recheckMinutes: 30 } });
      consumers.presented.set('cn01', { kind: 'presented', thumbprint: old.thumbprint! });
      consumers.presented.set('cn02', { kind: 'presented', thumbprint: old.thumbprint! });
      await processObject('certificate', 'hpc-node-comm', undefined, ctx());
      expect(h.vault.objects.get('certificate/hpc-node-comm')!.versions[0]!.enabled).toBe(true); // not converged yet
      const created = h.vault.current('certificate', 'hpc-node-comm')!;
      consumers.presented.set('cn01', { kind: 'presented', thumbprint: created.thumbprint! });
      consumers.presented.set('cn02', { kind: 'presented', thumbprint: created.thumbprint! });
      h.clock.advance(31 * 60_000);
      await processVault(ctx());
      // The offline node has not confirmed anything: the previous version stays enabled under it.
      expect(h.states.value('hpc-kv', 'certificate', 'hpc-node-comm')?.status).toBe('Verifying');
      expect(h.vault.objects.get('certificate/hpc-node-comm')!.versions[0]!.enabled).toBe(true);
      consumers.nodes = consumers.nodes.map((n) => (n.name === 'cn03' ? { ...n, state: 'Online', health: 'OK' } : n));
      consumers.presented.set('cn03', { kind: 'presented', thumbprint: created.thumbprint! });
      h.clock.advance(31 * 60_000);
      await processVault(ctx());
      expect(h.states.value('hpc-kv', 'certificate', 'hpc-node-comm')?.status).toBe('Completed');
      expect(h.vault.objects.get('certificate/hpc-node-comm')!.versions[0]!.enabled).toBe(!disable);
      expect(h.audit.actions('hpc-node-comm').includes('PreviousVersionDisabled')).toBe(disable);
    }
  });

  it('verifies the consumers of a version created outside Rotor, announced by a NewVersionCreated event', async () => {
    const { h, consumers, ctx, old } = setup();
    h.clock.advance(60_000);
    const outside = h.vault.add('certificate', 'hpc-node-comm', { notBefore: h.clock.now(), expiresOn: new Date(h.clock.now().getTime() + 365 * DAY) });
    consumers.presented.set('cn01', { kind: 'presented', thumbprint: outside.thumbprint! });
    consumers.presented.set('cn02', { kind: 'presented', thumbprint: old.thumbprint! });
    await processObject('certificate', 'hpc-node-comm', 'Microsoft.KeyVault.CertificateNewVersionCreated', ctx());
    expect(h.vault.versionCount('certificate', 'hpc-node-comm')).toBe(2); // Rotor created nothing
    const state = h.states.value('hpc-kv', 'certificate', 'hpc-node-comm')!;
    expect(state).toMatchObject({ status: 'Verifying', reason: 'CreatedOutsideRotor', fromVersion: old.version, toVersion: outside.version, toThumbprint: outside.thumbprint });
    const rows = h.audit.rows.filter((r) => r.objectName === 'hpc-node-comm');
    expect(rows.map((r) => r.action)).toEqual(['NewVersionObserved', 'ConsumerVerified', 'ConsumerStale', 'ConsumerSkipped', 'VerificationChecked']);
    expect(rows.find((r) => r.action === 'ConsumerStale')).toMatchObject({ expected: outside.thumbprint, observed: old.thumbprint, rotationId: state.rotationId });
    // The same event delivered again changes nothing.
    await processObject('certificate', 'hpc-node-comm', 'Microsoft.KeyVault.CertificateNewVersionCreated', ctx());
    expect(h.audit.rows.filter((r) => r.objectName === 'hpc-node-comm')).toHaveLength(rows.length);
  });

  it('audits a consumer only when its state changes, with one summary row per check; its row keeps the latest check', async () => {
    const { h, consumers, ctx, old, rows } = setup();
    consumers.nodes = Array.from({ length: 250 }, (_, i) => ({ name: `cn${i}`, state: 'Online', health: 'OK', host: `cn${i}`, port: 40002 }));
    for (let i = 0; i < 250; i++) consumers.presented.set(`cn${i}`, { kind: 'presented', thumbprint: old.thumbprint! });
    await processObject('certificate', 'hpc-node-comm', undefined, ctx());
    const state = h.states.value('hpc-kv', 'certificate', 'hpc-node-comm')!;
    const consumerRows = () => h.audit.rows.filter((r) => r.action.startsWith('Consumer'));
    expect(consumerRows()).toHaveLength(250); // every first result
    expect(h.audit.rows.filter((r) => r.action === 'VerificationChecked')).toHaveLength(1);

    // Second check: nothing changed — no consumer row, one summary row.
    h.clock.advance(31 * 60_000);
    await processVault(ctx());
    expect(consumerRows()).toHaveLength(250);
    const summaries = h.audit.rows.filter((r) => r.action === 'VerificationChecked');
    expect(summaries).toHaveLength(2);
    expect(summaries[1]).toMatchObject({ outcome: 'Pending', reason: 'NotConverged', rotationId: state.rotationId });
    expect(summaries[1]!.detail).toMatch(/^check 2: 0 of 250 consumers verified \(250 stale\); 0 changed/);

    // Third check: 10 nodes picked up the new certificate — 10 rows, each saying what it was before.
    const created = h.vault.current('certificate', 'hpc-node-comm')!;
    for (let i = 0; i < 10; i++) consumers.presented.set(`cn${i}`, { kind: 'presented', thumbprint: created.thumbprint! });
    h.clock.advance(31 * 60_000);
    await processVault(ctx());
    const changed = consumerRows().slice(250);
    expect(changed.map((r) => r.action)).toEqual(Array(10).fill('ConsumerVerified'));
    expect(changed[0]!.detail).toContain('(was Stale since');
    expect(h.states.value('hpc-kv', 'certificate', 'hpc-node-comm')!.verification).toMatchObject({ checks: 3, counts: { verified: 10, stale: 240 } });
    const cn0 = (await rows.list(state.rotationId!)).find((r) => r.id === 'hpcpack://cluster1/cn0')!;
    expect(cn0).toMatchObject({ status: 'Verified', checks: 3, rotationId: state.rotationId });
    expect(cn0.firstCheckedAt.getTime()).toBeLessThan(cn0.statusSince.getTime());
    expect(cn0.verifiedAt).toEqual(cn0.statusSince);
  });

  it('names at most 20 consumers in a deadline failure and counts the rest', async () => {
    const { h, consumers, ctx, old } = setup();
    consumers.nodes = Array.from({ length: 50 }, (_, i) => ({ name: `cn${i}`, state: 'Online', health: 'OK', host: `cn${i}`, port: 40002 }));
    for (let i = 0; i < 50; i++) consumers.presented.set(`cn${i}`, { kind: 'presented', thumbprint: old.thumbprint! });
    await processObject('certificate', 'hpc-node-comm', undefined, ctx());
    h.clock.advance(2 * 3_600_000 + 1000);
    await processVault(ctx());
    const failed = h.audit.rows.find((r) => r.action === 'RotationFailed')!;
    expect(failed.detail).toMatch(/^50 of 50 consumers did not converge/);
    expect(failed.detail).toContain('and 30 more (see the consumer rows)');
    expect(h.states.value('hpc-kv', 'certificate', 'hpc-node-comm')).toMatchObject({ status: 'Failed' });
  });

  it('records nothing more for a version created outside Rotor that nothing consumes', async () => {
    const { h, ctx } = setup({ consumers: {} });
    h.clock.advance(60_000);
    h.vault.add('certificate', 'hpc-node-comm', { notBefore: h.clock.now(), expiresOn: new Date(h.clock.now().getTime() + 365 * DAY) });
    await processObject('certificate', 'hpc-node-comm', 'Microsoft.KeyVault.CertificateNewVersionCreated', ctx());
    expect(h.audit.actions('hpc-node-comm')).toEqual(['NewVersionObserved']);
    expect(h.states.value('hpc-kv', 'certificate', 'hpc-node-comm')).toBeUndefined();
  });

  it('completes at once when nothing consumes the object', async () => {
    const { h, ctx } = setup({ consumers: {} });
    expect((await processObject('certificate', 'hpc-node-comm', undefined, ctx())).outcome).toBe('Rotated');
    expect(h.audit.rows.find((r) => r.action === 'RotationCompleted')?.detail).toContain('no consumers found');
  });
});
