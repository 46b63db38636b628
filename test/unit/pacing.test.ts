import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/core/config.js';
import { VaultPacer, WINDOW_MARGIN_MS } from '../../src/core/pacing.js';
import { FakeClock } from '../support/fakes.js';

const limits = parseConfig({ vaults: [{ name: 'kv1', url: 'https://kv1.vault.azure.net/' }], limits: { rsa2048CreatesPer10s: 3 } }).limits;

describe('vault pacer', () => {
  it('admits at most N per sliding window, in arrival order', async () => {
    const clock = new FakeClock(0);
    const pacer = new VaultPacer(limits, clock, clock.sleep);
    const admitted: number[] = [];
    await Promise.all(
      Array.from({ length: 7 }, (_, i) =>
        pacer.acquire('rsa2048Create').then(() => {
          admitted.push(clock.now().getTime());
          return i;
        }),
      ),
    );
    const w = 10_000 + WINDOW_MARGIN_MS;
    expect(admitted).toEqual([0, 0, 0, w, w, w, 2 * w]);
  });

  it('keeps classes independent', async () => {
    const clock = new FakeClock(0);
    const pacer = new VaultPacer(limits, clock, clock.sleep);
    for (let i = 0; i < 3; i++) await pacer.acquire('rsa2048Create');
    await pacer.acquire('secretWrite');
    expect(clock.now().getTime()).toBe(0);
  });

  it('pauses every class for Retry-After after a 429', async () => {
    const clock = new FakeClock(0);
    const pacer = new VaultPacer(limits, clock, clock.sleep);
    pacer.throttled(7_000);
    await pacer.acquire('secretWrite');
    expect(clock.now().getTime()).toBe(7_000);
    expect(pacer.throttledResponses).toBe(1);
  });
});

describe('vault pacer under 429s without Retry-After', () => {
  it('lowers the throttled class only, once per half window, and recovers per quiet window', async () => {
    const clock = new FakeClock(0);
    const tens = parseConfig({ vaults: [{ name: 'kv1', url: 'https://kv1.vault.azure.net/' }], limits: { rsa2048CreatesPer10s: 20 } }).limits;
    const pacer = new VaultPacer(tens, clock, clock.sleep);
    pacer.throttled(0, ['rsa2048Create']);
    pacer.throttled(0, ['rsa2048Create']); // the same burst
    expect(pacer.currentLimit('rsa2048Create')).toBe(14);
    expect(pacer.currentLimit('secretWrite')).toBe(300);
    clock.advance(6_000);
    pacer.throttled(0, ['rsa2048Create']);
    expect(pacer.currentLimit('rsa2048Create')).toBe(9);
    pacer.throttled(0, []); // a read: pauses, lowers nothing
    expect(pacer.currentLimit('rsa2048Create')).toBe(9);
    // Two quiet windows: +2 each (10 % of 20).
    clock.advance(2 * (10_000 + WINDOW_MARGIN_MS));
    await pacer.acquire('rsa2048Create');
    expect(pacer.currentLimit('rsa2048Create')).toBe(13);
    clock.advance(100 * 10_250);
    await pacer.acquire('rsa2048Create');
    expect(pacer.currentLimit('rsa2048Create')).toBe(20);
  });

  it('admits fewer per window after a throttled creation', async () => {
    const clock = new FakeClock(0);
    const pacer = new VaultPacer(limits, clock, clock.sleep); // 3 per window
    pacer.throttled(0, ['rsa2048Create']); // → 2
    const admitted: number[] = [];
    await Promise.all(Array.from({ length: 4 }, () => pacer.acquire('rsa2048Create').then(() => admitted.push(clock.now().getTime()))));
    const w = 10_000 + WINDOW_MARGIN_MS;
    expect(admitted).toEqual([0, 0, w, w]);
  });
});
