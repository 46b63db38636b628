/** "Needs attention" and --fail-on: every open problem from what is true now, in a fixed order; the kinds parse strictly. */
import { describe, expect, it } from 'vitest';
import { needsAttention, parseFailOn } from '../../src/core/attention.js';
import type { ObjectStatus } from '../../src/core/status.js';

const NOW = new Date('2026-12-04T00:00:00Z');
const base = (name: string, extra: Partial<ObjectStatus> = {}): ObjectStatus => ({
  vault: 'kv',
  type: 'certificate',
  name,
  enabled: true,
  consumers: [],
  ...extra,
});
const consumer = (label: string, status: ObjectStatus['consumers'][number]['status']) => ({ consumer: label, id: label, status, reason: `R${status}`, detail: `${label} is ${status}`, expected: 'v2', observed: 'v1', checkedAt: NOW.toISOString() });

describe('needsAttention', () => {
  it('lists expired objects, failed rotations, and stale / unreachable / misconfigured consumers by name', () => {
    const items = needsAttention(
      [
        base('old', { expiresOn: '2026-12-01T00:00:00.000Z' }),
        base('disabled-old', { enabled: false, expiresOn: '2026-01-01T00:00:00.000Z' }),
        base('fine', { expiresOn: '2027-12-01T00:00:00.000Z' }),
        base('broken', {
          lastRotation: { rotationId: 'r1', status: 'Failed', fromVersion: 'a', toVersion: '', lastError: 'Forbidden: no access' },
        }),
        base('node-comm', {
          lastRotation: { rotationId: 'r2', status: 'Verifying', fromVersion: 'a', toVersion: 'b', lastError: '' },
          consumers: [
            consumer('HPC Pack node c/cn01', 'Verified'),
            consumer('HPC Pack node c/cn02', 'Pending'),
            consumer('HPC Pack node c/cn03', 'Stale'),
            consumer('HPC Pack node c/cn04', 'Unreachable'),
            consumer('Batch pool a/p', 'Misconfigured'),
            consumer('Batch pool a/q', 'UnknownCertificate'),
          ],
        }),
      ],
      [],
      NOW,
    );
    expect(items.map((i) => `${i.kind} ${i.name}${i.consumer ? ` ${i.consumer}` : ''}`)).toEqual([
      'expired old',
      'failed broken',
      'stale node-comm Batch pool a/q',
      'stale node-comm HPC Pack node c/cn03',
      'unreachable node-comm HPC Pack node c/cn04',
      'misconfigured node-comm Batch pool a/p',
    ]);
    expect(items.find((i) => i.kind === 'failed')?.message).toBe('Forbidden: no access');
  });

  it('takes what needs a person and overdue external rotations from the plan; objects a run will rotate are not problems', () => {
    const plan = [
      { vault: 'kv', type: 'certificate' as const, name: 'public', reason: 'NearExpiry', message: 'issuer cannot renew', action: 'manual' as const },
      { vault: 'kv', type: 'certificate' as const, name: 'hpc', reason: 'NearExpiry', message: 'profile', action: 'refuse' as const },
      { vault: 'kv', type: 'secret' as const, name: 'notify-only', reason: 'NearExpiry', message: 'notify', action: 'notify' as const },
      { vault: 'kv', type: 'secret' as const, name: 'nexus', reason: 'ExternalRotationStale', message: '45 days old', action: 'report' as const },
      { vault: 'kv', type: 'secret' as const, name: 'no-expiry', reason: 'NoExpiry', message: 'set an expiry', action: 'report' as const },
      { vault: 'kv', type: 'certificate' as const, name: 'off', reason: 'Disabled', message: 'disabled', action: 'report' as const },
      { vault: 'kv', type: 'certificate' as const, name: 'kv-late', reason: 'RenewalOverdue', message: 'Key Vault has not renewed it', action: 'report' as const },
      { vault: 'kv', type: 'certificate' as const, name: 'kv-renews', reason: 'KeyVaultManaged', message: 'Key Vault renews it', action: 'report' as const },
      { vault: 'kv', type: 'key' as const, name: 'due', reason: 'NearExpiry', message: 'due', action: 'rotate' as const },
      { vault: 'kv', type: 'key' as const, name: 'skipped', reason: 'NearExpiry', message: 'off', action: 'skip' as const },
    ];
    const items = needsAttention([], plan, NOW);
    expect(items.map((i) => `${i.kind} ${i.type}/${i.name}`)).toEqual([
      'manual certificate/hpc',
      'manual certificate/public',
      'manual secret/no-expiry',
      'manual secret/notify-only',
      'overdue certificate/kv-late',
      'overdue secret/nexus',
    ]);
  });

  it('lists a problem once even when status and plan both see it', () => {
    const plan = [{ vault: 'kv', type: 'certificate' as const, name: 'x', reason: 'NearExpiry', message: 'm', action: 'manual' as const }];
    expect(needsAttention([], [...plan, ...plan], NOW)).toHaveLength(1);
  });
});

describe('parseFailOn', () => {
  it('accepts kinds, all and none; refuses unknown kinds naming them', () => {
    const kinds = (value: string): string[] => {
      const parsed = parseFailOn(value);
      if (!parsed.ok) throw new Error(parsed.message);
      return [...parsed.kinds];
    };
    expect(kinds('expired, Stale')).toEqual(['expired', 'stale']);
    expect(kinds('all')).toHaveLength(7);
    expect(kinds('none')).toEqual([]);
    const bad = parseFailOn('stale,boom');
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.message).toContain('"boom"');
    expect(parseFailOn(' , ').ok).toBe(false);
  });
});
