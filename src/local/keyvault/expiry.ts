/**
 * Key Vault's NearExpiry and Expired events: for the current version of each certificate, key and secret (managed
 * keys and secrets are covered by their certificate), once per version, NearExpiry within `nearExpiryDays` of its
 * expiry and Expired once it has expired. What a version has emitted is kept on it (and persisted).
 */
import type { ObjectType } from './context.js';
import type { EventKind } from './events.js';
import { currentVersion, EXPIRED_EMITTED, NEAR_EXPIRY_EMITTED, type VaultState, type VersionBase } from './model.js';

export interface DueEvent {
  objectType: ObjectType;
  kind: Extract<EventKind, 'NearExpiry' | 'Expired'>;
  name: string;
  version: VersionBase;
}

/** Finds the versions that crossed a threshold since the last check and marks them as emitted. */
export function collectDueExpiryEvents(state: VaultState, nowSeconds: number, nearExpiryDays: number): DueEvent[] {
  const due: DueEvent[] = [];
  const nearThreshold = nowSeconds + nearExpiryDays * 86_400;
  const check = (objectType: ObjectType, name: string, version: VersionBase | undefined): void => {
    const exp = version?.attributes.exp;
    if (!version || exp === null || exp === undefined) return;
    if (exp <= nowSeconds) {
      if (version.expiryEvents & EXPIRED_EMITTED) return;
      version.expiryEvents |= EXPIRED_EMITTED | NEAR_EXPIRY_EMITTED;
      due.push({ objectType, kind: 'Expired', name, version });
    } else if (exp <= nearThreshold && !(version.expiryEvents & NEAR_EXPIRY_EMITTED)) {
      version.expiryEvents |= NEAR_EXPIRY_EMITTED;
      due.push({ objectType, kind: 'NearExpiry', name, version });
    }
  };
  for (const record of state.certificates.values()) check('Certificate', record.name, currentVersion(record));
  for (const record of state.keys.values()) if (!record.managed) check('Key', record.name, currentVersion(record));
  for (const record of state.secrets.values()) if (!record.managed) check('Secret', record.name, currentVersion(record));
  return due;
}
