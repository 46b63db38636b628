/**
 * Verification of the audit log for the auditors' function and CLI: the chains, and — when Rotor signs digests —
 * the digest chain and every partition against what the digests commit.
 */
import type { VerifyReport, VerifyScope } from '../core/audit-chain.js';
import { verifyAuditLog } from '../core/audit-digest.js';
import { vaultKey } from '../adapters/storage/keys.js';
import type { AuditServices } from './services.js';

export interface VerifyOptions {
  /** Uncovered rows older than this are findings (default 2 h). */
  readonly maxDigestAgeMs?: number | undefined;
}

export function verifyLog(services: AuditServices, scope: VerifyScope, options: VerifyOptions = {}): Promise<VerifyReport> {
  const { digests } = services;
  return verifyAuditLog(
    services.reader,
    scope,
    digests
      ? {
          store: digests.store,
          verifier: digests.verifier,
          options: { now: services.clock.now(), ...digests.coverage, ...(options.maxDigestAgeMs ? { maxDigestAgeMs: options.maxDigestAgeMs } : {}) },
        }
      : undefined,
    vaultKey,
  );
}
