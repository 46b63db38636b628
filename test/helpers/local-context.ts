/**
 * Builds the LocalServiceContext the stack would hand a service, for tests that start one emulator directly:
 * a CA in a temporary folder, a random token, an injected clock, in-memory state unless a stateDir is given.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StaticTokenCredential } from '../../src/adapters/credentials.js';
import { loadOrCreateCa, type LocalCa } from '../../src/local/ca.js';
import type { LocalServiceContext } from '../../src/local/service.js';
import { createHpcPackCertificate, type HpcPackCertificate } from '../../src/local/hpcpack/index.js';

export interface TestClock {
  now: () => Date;
  set(iso: string): void;
  advance(ms: number): void;
}

export function testClock(start = '2026-01-15T08:00:00.000Z'): TestClock {
  let current = new Date(start).getTime();
  return {
    now: () => new Date(current),
    set: (iso) => {
      current = new Date(iso).getTime();
    },
    advance: (ms) => {
      current += ms;
    },
  };
}

export interface TestContext {
  ctx: LocalServiceContext;
  ca: LocalCa;
  clock: TestClock;
  credential: StaticTokenCredential;
  /** Folder for test files (CA, state); removed by dispose(). */
  dir: string;
  /** A context for the same CA and token with other state and ports (restart tests). */
  withState(stateDir: string | undefined, preferredPorts?: Record<string, number>): LocalServiceContext;
  dispose(): Promise<void>;
}

export async function createTestContext(): Promise<TestContext> {
  const dir = await mkdtemp(join(tmpdir(), 'rotor-consumers-'));
  const ca = await loadOrCreateCa(join(dir, 'ca'));
  const token = `test-${randomBytes(8).toString('hex')}`;
  const clock = testClock();
  const withState = (stateDir: string | undefined, preferredPorts: Record<string, number> = {}): LocalServiceContext => ({
    ca,
    token,
    stateDir,
    preferredPorts,
    now: clock.now,
    log: () => undefined,
  });
  return {
    ctx: withState(undefined),
    ca,
    clock,
    credential: new StaticTokenCredential(token),
    dir,
    withState,
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}

/**
 * A cluster's node certificates for consumer tests: the one the nodes present now (30 days of validity) and the one a
 * rotation brings (a year), both valid from a day before the test clock's now.
 */
export async function nodeCertificatePair(clock: { now(): Date }): Promise<[HpcPackCertificate, HpcPackCertificate]> {
  const notBefore = new Date(clock.now().getTime() - 86_400_000);
  return Promise.all([
    createHpcPackCertificate({ notBefore, notAfter: new Date(notBefore.getTime() + 30 * 86_400_000) }),
    createHpcPackCertificate({ notBefore, notAfter: new Date(notBefore.getTime() + 365 * 86_400_000) }),
  ]);
}
