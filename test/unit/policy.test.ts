import { describe, expect, it } from 'vitest';
import { resolveObjectPolicy } from '../../src/core/config.js';
import type { ObjectSnapshot } from '../../src/core/model.js';
import { evaluate, nextRotationDate } from '../../src/core/policy.js';
import { baseConfig, DAY } from '../support/fakes.js';

const now = new Date('2026-11-24T00:00:00Z');
const config = baseConfig();
const at = (days: number): Date => new Date(now.getTime() + days * DAY);
const snap = (o: Partial<ObjectSnapshot>): ObjectSnapshot => ({
  vault: 'hpc-kv',
  type: 'certificate',
  name: 'c',
  enabled: true,
  tags: {},
  notBefore: at(-300),
  expiresOn: at(65),
  ...o,
});
const run = (o: Partial<ObjectSnapshot>) => {
  const object = snap(o);
  return evaluate({ object, resolution: resolveObjectPolicy(config, object) }, now);
};

describe('trigger rule chain', () => {
  it('is silent for an object that is not due', () => {
    expect(run({ notBefore: at(-10), expiresOn: at(355) })).toBeUndefined();
  });

  it('fires NearExpiry inside the renew-before window, with the reason text for the audit row', () => {
    const f = run({ notBefore: at(-10), expiresOn: at(10) });
    expect(f).toMatchObject({ reason: 'NearExpiry', disposition: 'rotate' });
    expect(f?.message).toBe('expires 2026-12-04 (10 days left), inside the renew-before window of 30 days');
  });

  it('fires LifetimeElapsed at 80 % of the lifetime before the 30-day window', () => {
    const f = run({ notBefore: at(-300), expiresOn: at(65) });
    expect(f).toMatchObject({ reason: 'LifetimeElapsed', disposition: 'rotate' });
    expect(f?.message).toContain('82.2 % of its 365 days lifetime has elapsed (rotate at 80 %)');
  });

  it('fires Expired before NearExpiry (first hit wins)', () => {
    expect(run({ expiresOn: at(-2) })).toMatchObject({ reason: 'Expired', disposition: 'rotate' });
  });

  it('reports disabled objects and objects with no expiry', () => {
    expect(run({ enabled: false, expiresOn: at(-2) })).toMatchObject({ reason: 'Disabled', disposition: 'report' });
    expect(run({ expiresOn: undefined, type: 'secret' })).toMatchObject({ reason: 'NoExpiry', disposition: 'report' });
  });

  it('honours per-object tags', () => {
    expect(run({ notBefore: at(-10), expiresOn: at(20), tags: { 'rotor-renew-before': '14d' } })).toBeUndefined();
    expect(run({ notBefore: at(-10), expiresOn: at(12), tags: { 'rotor-renew-before': '14d' } })?.message).toContain('(tag rotor-renew-before=14d)');
  });

  it('turns a bad tag into a report on this object only', () => {
    expect(run({ tags: { 'rotor-renew-before': 'soon' } })).toMatchObject({ reason: 'InvalidPolicy', disposition: 'report' });
  });

  it('ignores keys and secrets that back a certificate', () => {
    expect(run({ type: 'secret', managed: true, expiresOn: at(-1) })).toMatchObject({ reason: 'ManagedByCertificate', disposition: 'ignore' });
  });

  it('never rotates externally rotated secrets; reports them stale past the expected period', () => {
    const tags = { 'rotor-secret-kind': 'nexus-credential' };
    expect(run({ type: 'secret', tags, createdOn: at(-45), expiresOn: undefined })).toMatchObject({
      reason: 'ExternalRotationStale',
      disposition: 'report',
    });
    expect(run({ type: 'secret', tags, createdOn: at(-5), expiresOn: at(1) })).toMatchObject({ reason: 'ExternallyRotated', disposition: 'ignore' });
    expect(run({ type: 'secret', tags, createdOn: at(-5), expiresOn: at(-1) })).toMatchObject({ reason: 'Expired', disposition: 'report' });
  });

  it('computes the next rotation date as the earlier of both thresholds', () => {
    const object = snap({ notBefore: at(-100), expiresOn: at(265) });
    const r = resolveObjectPolicy(config, object);
    if (!r.ok) throw new Error('policy');
    expect(nextRotationDate(object, r.policy)?.toISOString()).toBe(at(-100 + 292).toISOString());
  });
});
