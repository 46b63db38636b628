import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/core/config.js';
import { VaultPacer, WINDOW_MARGIN_MS } from '../../src/core/pacing.js';
import { FakeClock } from '../support/fakes.js';

/**
 * A sleep on the fake clock that first lets every write already under way complete, as real time would: the fake
 * clock's own sleep moves time at once, ahead of writes whose completion is only a microtask away.
 */
const settling = (clock: FakeClock) => async (ms: number): Promise<void> => {
  await new Promise((resolve) => setImmediate(resolve));
  clock.advance(ms);
};

/** A write that completes at once: its window starts at its admission. */
const idle = async (): Promise<void> => undefined;

const limits = parseConfig({ vaults: [{ name: 'kv1', url: 'https://kv1.vault.azure.net/' }], limits: { rsa2048CreatesPer10s: 3 } }).limits;

describe('vault pacer', () => {
  it('admits at most N per sliding window, in arrival order', async () => {
    const clock = new FakeClock(0);
    const pacer = new VaultPacer(limits, clock, settling(clock));
    const admitted: number[] = [];
    // Each write records when it was let through (the fake clock's sleep moves time for every waiter at once).
    await Promise.all(Array.from({ length: 7 }, () => pacer.paced('rsa2048Create', async () => void admitted.push(clock.now().getTime()))));
    const w = 10_000 + WINDOW_MARGIN_MS;
    expect(admitted).toEqual([0, 0, 0, w, w, w, 2 * w]);
  });

  it('keeps classes independent', async () => {
    const clock = new FakeClock(0);
    const pacer = new VaultPacer(limits, clock, settling(clock));
    for (let i = 0; i < 3; i++) await pacer.paced('rsa2048Create', idle);
    await pacer.paced('secretWrite', idle);
    expect(clock.now().getTime()).toBe(0);
  });

  it('pauses every class for Retry-After after a 429', async () => {
    const clock = new FakeClock(0);
    const pacer = new VaultPacer(limits, clock, settling(clock));
    pacer.throttled(7_000);
    await pacer.paced('secretWrite', idle);
    expect(clock.now().getTime()).toBe(7_000);
    expect(pacer.throttledResponses).toBe(1);
  });
});

describe('vault pacer: a write holds its place until its response', () => {
  it('counts a slow write from its completion, not its admission (the vault may receive it late)', async () => {
    const clock = new FakeClock(0);
    const pacer = new VaultPacer(limits, clock, settling(clock)); // 3 per window
    const w = 10_000 + WINDOW_MARGIN_MS;
    const slots = await Promise.all([pacer.acquire('rsa2048Create'), pacer.acquire('rsa2048Create'), pacer.acquire('rsa2048Create')]);
    const fourth = pacer.acquire('rsa2048Create').then((slot) => ({ slot, at: clock.now().getTime() }));
    // The three writes take 3 s (their 429 retries included): the fourth waits for them, then for a window.
    clock.advance(3_000);
    for (const slot of slots) slot.done();
    const admitted = await fourth;
    expect(admitted.at).toBe(3_000 + w);
    admitted.slot.done();
  });

  it('frees nothing while every slot is in flight, and counts a write whose request failed', async () => {
    const clock = new FakeClock(0);
    const pacer = new VaultPacer(limits, clock, settling(clock));
    const failing = Array.from({ length: 3 }, () => pacer.paced('rsa2048Create', () => Promise.reject(new Error('timeout'))));
    await Promise.allSettled(failing);
    let admittedAt = -1;
    await pacer.paced('rsa2048Create', async () => void (admittedAt = clock.now().getTime()));
    expect(admittedAt).toBe(10_000 + WINDOW_MARGIN_MS);
  });

  it('hands over in-flight slots as taken now', async () => {
    const clock = new FakeClock(0);
    const pacer = new VaultPacer(limits, clock, settling(clock));
    const slot = await pacer.acquire('rsa2048Create');
    await pacer.paced('rsa2048Create', idle);
    clock.advance(1_000);
    expect(pacer.snapshot().admitted.rsa2048Create).toEqual([0, 1_000]);
    slot.done();
    expect(pacer.snapshot().admitted.rsa2048Create).toEqual([0, 1_000]);
  });
});

describe('vault pacer under 429s without Retry-After', () => {
  it('settles at what the vault let through in the window: the admitted writes less the refused ones', async () => {
    const clock = new FakeClock(0);
    const tens = parseConfig({ vaults: [{ name: 'kv1', url: 'https://kv1.vault.azure.net/' }], limits: { rsa2048CreatesPer10s: 20 } }).limits;
    const pacer = new VaultPacer(tens, clock, settling(clock));
    await Promise.all(Array.from({ length: 20 }, () => pacer.paced('rsa2048Create', idle)));
    clock.advance(100);
    // The vault grants 16: four of the twenty are refused (each retried inside its own slot).
    for (let i = 0; i < 4; i++) pacer.throttled(0, ['rsa2048Create']);
    expect(pacer.currentLimit('rsa2048Create')).toBe(16);
    expect(pacer.currentLimit('secretWrite')).toBe(300);
  });

  it('counts a write refused again on its retry once, and holds the other writes at most 1 s for a wait Rotor chose', async () => {
    const clock = new FakeClock(0);
    const tens = parseConfig({ vaults: [{ name: 'kv1', url: 'https://kv1.vault.azure.net/' }], limits: { rsa2048CreatesPer10s: 20 } }).limits;
    const pacer = new VaultPacer(tens, clock, settling(clock));
    await Promise.all(Array.from({ length: 20 }, () => pacer.paced('rsa2048Create', idle)));
    // One request refused four times (its retries back off 1, 2, 4, 8 s): one refusal of the vault's budget.
    for (const wait of [1_000, 2_000, 4_000, 8_000]) pacer.throttled(wait, ['rsa2048Create'], { request: 'req-1', retryAfter: false });
    expect(pacer.currentLimit('rsa2048Create')).toBe(19);
    let at = -1;
    await pacer.paced('secretWrite', async () => void (at = clock.now().getTime()));
    expect(at).toBe(1_000);
    // The service's own Retry-After holds every write as long as it says.
    pacer.throttled(5_000, [], { request: 'req-2', retryAfter: true });
    await pacer.paced('secretWrite', async () => void (at = clock.now().getTime()));
    expect(at).toBe(6_000);
  });

  it('lowers the throttled class only, to at most 70 % per episode of 429s, and recovers by 5 % per quiet window', async () => {
    const clock = new FakeClock(0);
    const tens = parseConfig({ vaults: [{ name: 'kv1', url: 'https://kv1.vault.azure.net/' }], limits: { rsa2048CreatesPer10s: 20 } }).limits;
    const pacer = new VaultPacer(tens, clock, settling(clock));
    // Nothing of ours in the window, yet refused: the budget is someone else's; the drop is bounded per episode.
    pacer.throttled(0, ['rsa2048Create']);
    pacer.throttled(0, ['rsa2048Create']); // the same episode
    expect(pacer.currentLimit('rsa2048Create')).toBe(14);
    expect(pacer.currentLimit('secretWrite')).toBe(300);
    clock.advance(6_000); // more than half a window later: a new episode
    pacer.throttled(0, ['rsa2048Create']);
    expect(pacer.currentLimit('rsa2048Create')).toBe(9);
    pacer.throttled(0, []); // a read: pauses, lowers nothing
    expect(pacer.currentLimit('rsa2048Create')).toBe(9);
    // Two quiet windows: +1 each (5 % of 20).
    clock.advance(2 * (10_000 + WINDOW_MARGIN_MS));
    await pacer.paced('rsa2048Create', idle);
    expect(pacer.currentLimit('rsa2048Create')).toBe(11);
    clock.advance(100 * 10_250);
    await pacer.paced('rsa2048Create', idle);
    expect(pacer.currentLimit('rsa2048Create')).toBe(20);
  });

  it('admits fewer per window after a throttled creation', async () => {
    const clock = new FakeClock(0);
    const pacer = new VaultPacer(limits, clock, settling(clock)); // 3 per window
    pacer.throttled(0, ['rsa2048Create']); // → 2
    const admitted: number[] = [];
    await Promise.all(Array.from({ length: 4 }, () => pacer.paced('rsa2048Create', async () => void admitted.push(clock.now().getTime()))));
    const w = 10_000 + WINDOW_MARGIN_MS;
    expect(admitted).toEqual([0, 0, w, w]);
  });
});
