import { describe, expect, it } from 'vitest';
import {
  AuditQueryError,
  continueQuery,
  DEFAULT_PAGE_SIZE,
  encodeContinuation,
  MAX_PAGE_SIZE,
  parseAuditQuery,
  parseObjectRef,
  parseVerifyScope,
} from '../../src/core/audit-query.js';

const NOW = new Date('2026-11-20T12:00:00.000Z');
const parse = (qs: string) => parseAuditQuery(new URLSearchParams(qs), NOW);
const errorOf = (fn: () => unknown): AuditQueryError => {
  try {
    fn();
  } catch (err) {
    if (err instanceof AuditQueryError) return err;
    throw err;
  }
  throw new Error('expected an AuditQueryError');
};

describe('audit query parameters', () => {
  it('defaults to the last 30 days, 100 rows a page', () => {
    const q = parse('');
    expect(q.to).toEqual(NOW);
    expect(q.from).toEqual(new Date('2026-10-21T12:00:00.000Z'));
    expect(q.pageSize).toBe(DEFAULT_PAGE_SIZE);
  });

  it('reads every filter', () => {
    const q = parse(
      'vault=HPC-Prod-KV&objectType=certificate&objectName=hpc-node-comm&action=RotationCompleted&outcome=Succeeded&trigger=timer&runId=run-1&from=2026-11-01&to=2026-11-02&pageSize=1000',
    );
    expect(q).toMatchObject({
      vault: 'hpc-prod-kv',
      objectType: 'certificate',
      objectName: 'hpc-node-comm',
      action: 'RotationCompleted',
      outcome: 'Succeeded',
      trigger: 'timer',
      runId: 'run-1',
      pageSize: MAX_PAGE_SIZE,
    });
    // A bare `to` date means the end of that day.
    expect(q.from.toISOString()).toBe('2026-11-01T00:00:00.000Z');
    expect(q.to.toISOString()).toBe('2026-11-02T23:59:59.999Z');
  });

  it('accepts date-times with zones', () => {
    const q = parse('from=2026-11-01T08:00:00%2B02:00&to=2026-11-01T10:30:00.5Z');
    expect(q.from.toISOString()).toBe('2026-11-01T06:00:00.000Z');
    expect(q.to.toISOString()).toBe('2026-11-01T10:30:00.500Z');
  });

  it.each([
    ['objectType=folder', 'objectType'],
    ['action=Detected%27%20or%20action%20ne%20%27', 'action'],
    ['outcome=failed', 'outcome'],
    ['trigger=cron', 'trigger'],
    ['vault=kv%27%20or%20PartitionKey%20ne%20%27', 'vault'],
    ['vault=', 'vault'],
    [`objectName=${'a'.repeat(257)}`, 'objectName'],
    ['objectName=', 'objectName'],
    ['objectName=a%0Ab', 'objectName'],
    [`runId=${'r'.repeat(201)}`, 'runId'],
    ['from=yesterday', 'from'],
    ['from=2026-02-30', 'from'],
    ['from=2026-11-01T08:00:00', 'from'],
    ['to=1999-12-31', 'to'],
    ['from=2026-11-10&to=2026-11-01', 'from'],
    ['from=2000-01-01&to=2026-11-01', 'from'],
    ['pageSize=0', 'pageSize'],
    ['pageSize=1001', 'pageSize'],
    ['pageSize=ten', 'pageSize'],
    ['vaults=hpc-prod-kv', 'vaults'],
    ['vault=a&vault=b', 'vault'],
    ['continuation=not-a-token', 'continuation'],
  ])('refuses %s naming %s', (qs, parameter) => {
    const err = errorOf(() => parse(qs));
    expect(err.parameter).toBe(parameter);
    expect(err.message.startsWith(`${parameter}: `)).toBe(true);
  });

  it('lets free text through verbatim (it only reaches storage escaped)', () => {
    expect(parse(`objectName=${encodeURIComponent("' or PartitionKey ne '")}`).objectName).toBe("' or PartitionKey ne '");
    expect(parse(`objectName=${encodeURIComponent('zertifikat-ü-🔑')}`).objectName).toBe('zertifikat-ü-🔑');
  });
});

describe('continuation tokens', () => {
  const q = parse('vault=hpc-prod-kv&outcome=Failed&pageSize=5');
  const token = encodeContinuation(q, { partition: 'hpc-prod-kv|20261119', row: '82049390797589999999997' });

  it('round-trip: the next page keeps the filters and the first page\'s time range', () => {
    const later = new Date(NOW.getTime() + 3_600_000);
    const next = parseAuditQuery(new URLSearchParams(`vault=hpc-prod-kv&outcome=Failed&pageSize=7&continuation=${token}`), later);
    expect(next.from).toEqual(q.from);
    expect(next.to).toEqual(q.to);
    expect(next.pageSize).toBe(7);
    expect(next.after).toEqual({ partition: 'hpc-prod-kv|20261119', row: '82049390797589999999997' });
    expect(continueQuery(q, token).after).toEqual(next.after);
  });

  it('is refused with other filters', () => {
    expect(errorOf(() => parse(`vault=hpc-dev-kv&outcome=Failed&continuation=${token}`)).parameter).toBe('continuation');
    expect(errorOf(() => parse(`vault=hpc-prod-kv&continuation=${token}`)).parameter).toBe('continuation');
  });

  it('is refused when edited', () => {
    const body = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    const forge = (patch: Record<string, unknown>) => Buffer.from(JSON.stringify({ ...body, ...patch })).toString('base64url');
    for (const bad of [
      forge({ p: "x' or PartitionKey ne '" }),
      forge({ r: 'a b' }),
      forge({ v: 2 }),
      forge({ from: 'yesterday' }),
      forge({ from: body.to + 1 }),
      forge({ extra: 1 }),
      forge({ f: 'A'.repeat(22) }),
      `${token}x`,
      token.slice(0, -3),
      'eyJ2IjoxfQ',
      '%%%',
    ]) {
      expect(errorOf(() => parse(`vault=hpc-prod-kv&outcome=Failed&continuation=${encodeURIComponent(bad)}`)).parameter).toBe('continuation');
    }
  });
});

describe('verification scope and object references', () => {
  it('defaults to everything', () => {
    expect(parseVerifyScope(new URLSearchParams(''))).toEqual({ vault: undefined, from: undefined, to: undefined });
  });
  it('names bad parameters', () => {
    expect(errorOf(() => parseVerifyScope(new URLSearchParams('vault=a b'))).parameter).toBe('vault');
    expect(errorOf(() => parseVerifyScope(new URLSearchParams('from=2026-11-02&to=2026-11-01'))).parameter).toBe('from');
    expect(errorOf(() => parseVerifyScope(new URLSearchParams('objectName=x'))).parameter).toBe('objectName');
  });
  it('validates object references', () => {
    expect(parseObjectRef('HPC-KV', 'key', 'cache-cmk')).toEqual({ vault: 'hpc-kv', objectType: 'key', objectName: 'cache-cmk' });
    expect(errorOf(() => parseObjectRef('hpc-kv', 'keys', 'x')).parameter).toBe('type');
    expect(errorOf(() => parseObjectRef('hpc-kv', 'key', '')).parameter).toBe('name');
  });
});
