/**
 * Notifications from durable audit rows: which rows announce which CloudEvent type, stable ids, retries with backoff
 * and jitter, a publish that keeps failing audited (and announcing nothing itself: no loops), audit write failures
 * announced, and a bounded queue.
 */
import { describe, expect, it } from 'vitest';
import { auditRecord, type AuditInput } from '../../src/core/audit.js';
import { eventsForRows, NotificationDispatcher, type Notifier, type RotorEvent } from '../../src/core/notifications.js';
import { seededRandom } from '../../src/core/generators.js';
import { FakeClock, MemoryAuditLog, silentLogger } from '../support/fakes.js';

const NOW = Date.UTC(2026, 11, 4, 2, 0, 0);
const row = (input: Partial<AuditInput> & Pick<AuditInput, 'action' | 'outcome'>) =>
  auditRecord({ runId: 'timer-1', trigger: 'timer' }, new Date(NOW), { vault: 'kv', objectType: 'certificate', objectName: 'c', rotationId: 'r1', ...input });

class RecordingNotifier implements Notifier {
  readonly batches: RotorEvent[][] = [];
  failures = 0;
  async publish(events: readonly RotorEvent[]): Promise<void> {
    if (this.failures > 0) {
      this.failures--;
      throw new Error('503 ServiceUnavailable');
    }
    this.batches.push([...events]);
  }
}

describe('eventsForRows', () => {
  it('maps the rows people care about to Rotor event types, and nothing else', () => {
    const rows = [
      row({ action: 'Detected', outcome: 'Info', reason: 'NearExpiry' }),
      row({ action: 'RotationStarted', outcome: 'Info' }),
      row({ action: 'VersionCreated', outcome: 'Succeeded', version: 'v2' }),
      row({ action: 'RotationCompleted', outcome: 'Succeeded', version: 'v2' }),
      row({ action: 'RotationFailed', outcome: 'Failed' }),
      row({ action: 'ManualActionRequired', outcome: 'ActionRequired', reason: 'IssuerNotAutoRenewable' }),
      row({ action: 'ManualActionRequired', outcome: 'ActionRequired', reason: 'Expired' }),
      row({ action: 'PolicyViolation', outcome: 'ActionRequired' }),
      row({ action: 'ConsumerStale', outcome: 'Failed', consumer: 'HPC Pack node c/cn03' }),
      row({ action: 'ConsumerUnreachable', outcome: 'Failed', consumer: 'HPC Pack node c/cn04' }),
      row({ action: 'ConsumerPending', outcome: 'Pending', consumer: 'Batch pool a/p' }),
      row({ action: 'ExternalRotationStale', outcome: 'ActionRequired', objectType: 'secret' }),
      row({ action: 'WorkItemFailed', outcome: 'Failed', reason: 'PoisonMessage' }),
      row({ action: 'NotificationFailed', outcome: 'Failed' }),
      row({ action: 'ScanCompleted', outcome: 'Info', objectType: '', objectName: '' }),
    ];
    const events = eventsForRows(rows);
    expect(events.map((e) => e.type)).toEqual([
      'Rotor.VersionCreated',
      'Rotor.RotationCompleted',
      'Rotor.RotationFailed',
      'Rotor.ManualActionRequired',
      'Rotor.ObjectExpired',
      'Rotor.ManualActionRequired',
      'Rotor.ConsumerStale',
      'Rotor.ConsumerStale',
      'Rotor.ExternalRotationOverdue',
      'Rotor.WorkItemFailed',
    ]);
    const stale = events.find((e) => e.type === 'Rotor.ConsumerStale' && 'consumer' in e.data && e.data.consumer.endsWith('cn04'))!;
    expect(stale).toMatchObject({ source: '/rotor/kv', subject: 'kv/certificate/c', data: { consumerState: 'Unreachable' } });
    // Ids are stable (a retried publish keeps them) and distinct.
    expect(eventsForRows(rows).map((e) => e.id)).toEqual(events.map((e) => e.id));
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
  });
});

describe('NotificationDispatcher', () => {
  const setup = (failures: number) => {
    const clock = new FakeClock(NOW);
    const waits: number[] = [];
    const audit = new MemoryAuditLog();
    const notifier = new RecordingNotifier();
    notifier.failures = failures;
    const dispatcher = new NotificationDispatcher({
      notifier,
      audit,
      clock,
      sleep: async (ms) => void waits.push(ms),
      random: seededRandom(7),
      log: silentLogger,
      baseDelayMs: 1000,
      maxAttempts: 4,
    });
    return { dispatcher, notifier, audit, waits };
  };

  it('publishes the events of durable rows; retries with growing, jittered waits', async () => {
    const { dispatcher, notifier, waits } = setup(2);
    dispatcher.durable([row({ action: 'RotationCompleted', outcome: 'Succeeded' })]);
    await dispatcher.settle();
    expect(notifier.batches.flat().map((e) => e.type)).toEqual(['Rotor.RotationCompleted']);
    expect(waits).toHaveLength(2);
    expect(waits[0]).toBeGreaterThanOrEqual(500);
    expect(waits[0]).toBeLessThan(1000);
    expect(waits[1]).toBeGreaterThanOrEqual(1000);
    expect(waits[1]).toBeLessThan(2000);
  });

  it('a publish that keeps failing is audited once, and the NotificationFailed row announces nothing', async () => {
    const { dispatcher, notifier, audit } = setup(100);
    dispatcher.durable([row({ action: 'RotationFailed', outcome: 'Failed' })]);
    await dispatcher.settle();
    await new Promise((r) => setImmediate(r));
    expect(notifier.batches).toEqual([]);
    expect(audit.rows.map((r) => `${r.action}:${r.reason}`)).toEqual(['NotificationFailed:PublishFailed']);
    expect(audit.rows[0]!.detail).toContain('Rotor.RotationFailed');
    expect(audit.rows[0]!.detail).toContain('after 4 attempts');
    dispatcher.durable(audit.rows);
    await dispatcher.settle();
    expect(notifier.batches).toEqual([]);
  });

  it('announces audit writes that failed, without their content', async () => {
    const { dispatcher, notifier } = setup(0);
    dispatcher.writeFailed([row({ action: 'RotationCompleted', outcome: 'Succeeded', detail: 'private detail' })], new Error('503 from Table storage'));
    await dispatcher.settle();
    const [event] = notifier.batches.flat();
    expect(event).toMatchObject({ type: 'Rotor.AuditWriteFailed', subject: 'kv', data: { rows: 1, vaults: ['kv'], error: '503 from Table storage' } });
    expect(JSON.stringify(event)).not.toContain('private detail');
  });

  it('keeps at most maxQueued events while a publish is slow; the drop is audited', async () => {
    const clock = new FakeClock(NOW);
    const audit = new MemoryAuditLog();
    let release: () => void = () => undefined;
    const published: RotorEvent[] = [];
    const notifier: Notifier = {
      publish: async (events) => {
        if (!published.length) await new Promise<void>((r) => (release = r));
        published.push(...events);
      },
    };
    const dispatcher = new NotificationDispatcher({ notifier, audit, clock, sleep: async () => undefined, random: seededRandom(1), maxQueued: 10 });
    for (let i = 0; i < 30; i++) dispatcher.durable([row({ action: 'RotationCompleted', outcome: 'Succeeded', objectName: `c${i}` })]);
    release();
    await dispatcher.settle();
    await new Promise((r) => setImmediate(r));
    expect(published.length).toBeLessThanOrEqual(11);
    expect(audit.rows.some((r) => r.action === 'NotificationFailed' && r.detail.includes('dropped'))).toBe(true);
  });
});
