/**
 * The rotation state machine, table-driven: every (state, event) pair — the legal ones give the expected next status
 * and audit rows, the illegal ones throw IllegalTransition — plus what the transitions carry over, and that nothing
 * outside the transition module writes a state.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RotationState, VerificationSummary } from '../../src/core/state.js';
import { IllegalTransition, transition, type RotationEvent, type RotationEventKind, type TransitionEnv } from '../../src/core/transitions.js';

const T0 = new Date('2026-11-24T02:00:00.000Z');
const NOW = new Date('2026-11-24T03:00:00.000Z');
const env: TransitionEnv = { now: NOW, run: { runId: 'run-now', trigger: 'timer' }, rotation: { maxAttempts: 5, retryBaseMinutes: 15 } };
const object = { vault: 'hpc-kv', objectType: 'certificate', objectName: 'hpc-node-comm' } as const;
const summary: VerificationSummary = { startedAt: T0, checks: 1, counts: { verified: 1, stale: 1, unreachable: 0, pending: 0, misconfigured: 0, skipped: 0 } };
const rotation = { rotationId: 'rot-1', runId: 'run-1', trigger: 'timer', reason: 'NearExpiry', fromVersion: 'v1', fromThumbprint: 'T1', attempts: 1, startedAt: T0 } as const;
const newVersion = { toVersion: 'v2', toThumbprint: 'T2', toSecretId: 'https://hpc-kv.vault.azure.net/secrets/hpc-node-comm/v2' } as const;

const STATES: Record<string, RotationState | undefined> = {
  None: undefined,
  Idle: { ...object, status: 'Idle', updatedAt: T0, reportedFinding: 'NoExpiry@x' },
  RotationStarted: { ...object, ...rotation, status: 'RotationStarted', leaseUntil: T0, updatedAt: T0 },
  VersionCreated: { ...object, ...rotation, ...newVersion, status: 'VersionCreated', leaseUntil: T0, updatedAt: T0 },
  Verifying: { ...object, ...rotation, ...newVersion, status: 'Verifying', verification: summary, nextCheckAt: T0, verifyDeadline: T0, updatedAt: T0 },
  Completed: { ...object, ...rotation, ...newVersion, status: 'Completed', completedAt: T0, verification: summary, updatedAt: T0 },
  /** Failed before a new version existed, attempts left. */
  Failed: { ...object, ...rotation, status: 'Failed', lastError: 'Throttled', nextAttemptAt: T0, updatedAt: T0 },
  /** Failed at the verification deadline: the new version exists; a person must act. */
  FailedVerifying: { ...object, ...rotation, ...newVersion, attempts: 5, status: 'Failed', lastError: 'did not converge', verification: summary, verifyDeadline: T0, updatedAt: T0 },
};

const EVENTS: Record<RotationEventKind, RotationEvent> = {
  Report: { kind: 'Report', key: 'Expired@x', rows: [{ ...object, action: 'ManualActionRequired', outcome: 'ActionRequired', reason: 'Expired' }] },
  Observe: { kind: 'Observe', identity: '2026-11-20T00:00:00.000Z', row: { ...object, action: 'ExternalRotationObserved', outcome: 'Info' } },
  Claim: { kind: 'Claim', rotationId: 'rot-2', reason: 'NearExpiry', findingMessage: 'expires in 10 days', from: { version: 'v9', thumbprint: 'T9' }, leaseUntil: NOW },
  Retry: { kind: 'Retry', rotationId: 'rot-3', reason: 'NearExpiry', findingMessage: 'expires in 10 days', from: { version: 'v1', thumbprint: 'T1' }, leaseUntil: NOW },
  Resume: { kind: 'Resume', leaseUntil: NOW },
  HandOver: { kind: 'HandOver', since: T0, leaseUntil: NOW },
  VersionCreated: { kind: 'VersionCreated', created: { version: 'v2', thumbprint: 'T2' } },
  CreatedElsewhere: { kind: 'CreatedElsewhere', rotationId: 'rot-4', from: { version: 'v1' }, to: { version: 'v7', thumbprint: 'T7' } },
  Verifying: { kind: 'Verifying', verification: summary, nextCheckAt: NOW, deadline: NOW },
  Recheck: { kind: 'Recheck' },
  Checked: { kind: 'Checked', verification: { ...summary, checks: 2 } },
  Complete: { kind: 'Complete', note: '; 2 of 2 consumers verified' },
  DeadlinePassed: { kind: 'DeadlinePassed', verification: summary, detail: '1 of 2 consumers did not converge' },
  Fail: { kind: 'Fail', reason: 'Throttled', message: 'Key Vault throttled the request', audit: true },
  PreviousVersionDisabled: { kind: 'PreviousVersionDisabled' },
};

type Expect = readonly [status: RotationState['status'], rows: readonly string[]] | 'illegal';
const X = 'illegal' as const;
const to = (status: RotationState['status'], ...rows: string[]): Expect => [status, rows];

/** The whole machine: for each event, the outcome in each state (columns in the order of STATES). */
const TABLE: Record<RotationEventKind, Record<keyof typeof STATES, Expect>> = {
  // prettier-ignore
  Report: { None: to('Idle', 'ManualActionRequired'), Idle: to('Idle', 'ManualActionRequired'), RotationStarted: X, VersionCreated: X, Verifying: X, Completed: to('Completed', 'ManualActionRequired'), Failed: to('Failed', 'ManualActionRequired'), FailedVerifying: to('Failed', 'ManualActionRequired') },
  Observe: {
    None: to('Idle', 'ExternalRotationObserved'),
    Idle: to('Idle', 'ExternalRotationObserved'),
    RotationStarted: to('RotationStarted', 'ExternalRotationObserved'),
    VersionCreated: to('VersionCreated', 'ExternalRotationObserved'),
    Verifying: to('Verifying', 'ExternalRotationObserved'),
    Completed: to('Completed', 'ExternalRotationObserved'),
    Failed: to('Failed', 'ExternalRotationObserved'),
    FailedVerifying: to('Failed', 'ExternalRotationObserved'),
  },
  Claim: {
    None: to('RotationStarted', 'Detected', 'RotationStarted'),
    Idle: to('RotationStarted', 'Detected', 'RotationStarted'),
    RotationStarted: X,
    VersionCreated: X,
    Verifying: X,
    Completed: to('RotationStarted', 'Detected', 'RotationStarted'),
    Failed: to('RotationStarted', 'Detected', 'RotationStarted'), // another version than the one that failed
    FailedVerifying: to('RotationStarted', 'Detected', 'RotationStarted'),
  },
  // Only a failed rotation of the same version with attempts left.
  Retry: { None: X, Idle: X, RotationStarted: X, VersionCreated: X, Verifying: X, Completed: X, Failed: to('RotationStarted', 'Detected', 'RotationStarted'), FailedVerifying: X },
  Resume: { None: X, Idle: X, RotationStarted: to('RotationStarted'), VersionCreated: to('VersionCreated'), Verifying: X, Completed: X, Failed: X, FailedVerifying: X },
  HandOver: { None: X, Idle: X, RotationStarted: to('RotationStarted'), VersionCreated: X, Verifying: X, Completed: X, Failed: X, FailedVerifying: X },
  VersionCreated: { None: X, Idle: X, RotationStarted: to('VersionCreated', 'VersionCreated'), VersionCreated: X, Verifying: X, Completed: X, Failed: X, FailedVerifying: X },
  CreatedElsewhere: {
    None: to('VersionCreated'),
    Idle: to('VersionCreated'),
    RotationStarted: X,
    VersionCreated: X,
    Verifying: X,
    Completed: to('VersionCreated'),
    Failed: to('VersionCreated'),
    FailedVerifying: to('VersionCreated'),
  },
  Verifying: { None: X, Idle: X, RotationStarted: X, VersionCreated: to('Verifying'), Verifying: X, Completed: X, Failed: X, FailedVerifying: X },
  Recheck: { None: X, Idle: X, RotationStarted: X, VersionCreated: X, Verifying: to('Verifying'), Completed: X, Failed: X, FailedVerifying: to('Failed') },
  Checked: { None: X, Idle: X, RotationStarted: X, VersionCreated: X, Verifying: to('Verifying'), Completed: to('Completed'), Failed: X, FailedVerifying: to('Failed') },
  Complete: {
    None: X,
    Idle: X,
    RotationStarted: X,
    VersionCreated: to('Completed', 'RotationCompleted'),
    Verifying: to('Completed', 'RotationCompleted'),
    Completed: X,
    Failed: X,
    FailedVerifying: to('Completed', 'RotationCompleted'), // converged after the deadline
  },
  DeadlinePassed: { None: X, Idle: X, RotationStarted: X, VersionCreated: X, Verifying: to('Failed', 'RotationFailed', 'ManualActionRequired'), Completed: X, Failed: X, FailedVerifying: X },
  Fail: {
    None: X,
    Idle: X,
    RotationStarted: to('Failed', 'RotationFailed'),
    VersionCreated: to('Failed', 'RotationFailed'),
    Verifying: to('Failed', 'RotationFailed'),
    Completed: X,
    Failed: X,
    FailedVerifying: X,
  },
  PreviousVersionDisabled: { None: X, Idle: X, RotationStarted: X, VersionCreated: X, Verifying: X, Completed: to('Completed', 'PreviousVersionDisabled'), Failed: X, FailedVerifying: X },
};

describe('the rotation state machine, every (state, event) pair', () => {
  const cases = Object.entries(TABLE).flatMap(([event, row]) => Object.entries(row).map(([state, expected]) => ({ event: event as RotationEventKind, state, expected })));

  it('covers every event in every state', () => {
    expect(Object.keys(TABLE).sort()).toEqual(Object.keys(EVENTS).sort());
    expect(cases).toHaveLength(Object.keys(EVENTS).length * Object.keys(STATES).length);
  });

  it.each(cases)('$event in $state → $expected', ({ event, state, expected }) => {
    const run = () => transition(STATES[state], EVENTS[event], env, object);
    if (expected === 'illegal') {
      expect(run).toThrow(IllegalTransition);
      return;
    }
    const step = run();
    expect(step.next.status).toBe(expected[0]);
    expect(step.rows.map((r) => r.action)).toEqual(expected[1]);
    // The next state names the object, is stamped now, and holds no empty string standing for "absent".
    expect(step.next).toMatchObject({ ...object, updatedAt: NOW });
    for (const [field, value] of Object.entries(step.next)) expect({ field, value }).not.toEqual({ field, value: '' });
    for (const row of step.rows) expect(row).toMatchObject({ vault: 'hpc-kv', objectName: 'hpc-node-comm', timestamp: NOW, runId: 'run-now' });
  });
});

describe('what the transitions carry', () => {
  it('a claim starts a new rotation at attempt 1; a retry of the same version counts on; the lease is the event\'s', () => {
    const claim = transition(STATES['Completed'], EVENTS.Claim, env).next;
    expect(claim).toMatchObject({ status: 'RotationStarted', rotationId: 'rot-2', runId: 'run-now', attempts: 1, fromVersion: 'v9', startedAt: NOW, leaseUntil: NOW });
    expect(claim.toVersion).toBeUndefined();
    expect(claim.verification).toBeUndefined();
    const retry = transition(STATES['Failed'], EVENTS.Retry, env).next;
    expect(retry).toMatchObject({ status: 'RotationStarted', rotationId: 'rot-3', attempts: 2 });
    expect(retry.lastError).toBeUndefined();
    expect(() => transition({ ...STATES['Failed']!, attempts: 5 } as RotationState, EVENTS.Retry, env)).toThrow(/retries are exhausted/);
    expect(() => transition(STATES['Failed'], { ...EVENTS.Claim, from: { version: 'v1' } } as RotationEvent, env)).toThrow(/Retry/);
  });

  it('a failure backs off exponentially, and the last attempt hands the rotation to a person', () => {
    const third = transition({ ...STATES['RotationStarted']!, attempts: 3 } as RotationState, EVENTS.Fail, env);
    expect(third.next).toMatchObject({ status: 'Failed', lastError: 'Key Vault throttled the request', nextAttemptAt: new Date(NOW.getTime() + 60 * 60_000) });
    expect(third.rows[0]!.detail).toContain('no new version was created; version v1 stays current; next attempt after');
    const last = transition({ ...STATES['VersionCreated']!, attempts: 5 } as RotationState, EVENTS.Fail, env);
    expect(last.next.nextAttemptAt).toBeUndefined();
    expect(last.rows.map((r) => [r.action, r.reason])).toEqual([
      ['RotationFailed', 'Throttled'],
      ['ManualActionRequired', 'RetriesExhausted'],
    ]);
    expect(last.rows[0]!.detail).toContain('new version v2 exists; previous version v1 stays enabled');
    expect(transition(STATES['RotationStarted'], { ...EVENTS.Fail, audit: false } as RotationEvent, env).rows).toEqual([]);
  });

  it('completion keeps the rotation and its verification, and nothing of a failure', () => {
    const done = transition(STATES['FailedVerifying'], { kind: 'Complete', note: '', verification: { ...summary, checks: 3 } }, env);
    expect(done.next).toMatchObject({ status: 'Completed', rotationId: 'rot-1', toVersion: 'v2', completedAt: NOW, verification: { checks: 3 } });
    expect('lastError' in done.next && done.next.lastError !== undefined).toBe(false);
    expect(done.rows[0]).toMatchObject({ action: 'RotationCompleted', version: 'v2', previousVersion: 'v1', detail: 'rotated from v1 to v2' });
    expect(transition(STATES['VersionCreated'], { kind: 'Complete', note: '', recorded: true }, env).rows).toEqual([]);
  });

  it('the deadline fails the rotation with every attempt used, keeping the new version and the verification', () => {
    const failed = transition(STATES['Verifying'], EVENTS.DeadlinePassed, env).next;
    expect(failed).toMatchObject({ status: 'Failed', attempts: 5, toVersion: 'v2', verification: summary, verifyDeadline: T0 });
    expect(failed.nextAttemptAt).toBeUndefined();
  });

  it('a new version found without this rotation\'s id is recorded as observed, not as created', () => {
    const step = transition(STATES['RotationStarted'], { kind: 'VersionCreated', created: { version: 'v5' }, own: false }, env);
    expect(step.next).toMatchObject({ status: 'VersionCreated', toVersion: 'v5' });
    expect(step.rows.map((r) => [r.action, r.reason])).toEqual([['NewVersionObserved', 'CreatedOutsideRotor']]);
  });

  it('a hand-over keeps the rotation claimed until the delayed re-check, counting its time from the operation', () => {
    const next = transition(STATES['RotationStarted'], { kind: 'HandOver', since: new Date(0), leaseUntil: NOW }, env).next;
    expect(next).toMatchObject({ status: 'RotationStarted', startedAt: new Date(0), leaseUntil: NOW, rotationId: 'rot-1' });
  });

  it('a version created outside Rotor is a rotation of reason CreatedOutsideRotor', () => {
    const created = transition(undefined, EVENTS.CreatedElsewhere, env, object).next;
    expect(created).toMatchObject({ status: 'VersionCreated', reason: 'CreatedOutsideRotor', fromVersion: 'v1', toVersion: 'v7', attempts: 1, rotationId: 'rot-4' });
  });

  it('keeps what was reported and observed across rotations', () => {
    const claimed = transition(STATES['Idle'], EVENTS.Claim, env).next;
    expect(claimed.reportedFinding).toBe('NoExpiry@x');
  });
});

describe('one writer', () => {
  it('no code outside the transition module writes a rotation state (states.put)', () => {
    const src = resolve(import.meta.dirname, '../../src');
    const files = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
    const writers = files(src).filter((f) => /\bstates\.put\(/.test(readFileSync(f, 'utf8'))).map((f) => relative(src, f));
    expect(writers).toEqual(['core/transitions.ts']);
  });
});
