/**
 * Key Vault's own lifetime actions, performed on the emulator's clock (as Key Vault performs them on its own):
 *   certificate policy  AutoRenew      at the trigger (lifetime_percentage of the validity, or days_before_expiry), a
 *                                      Self-issued certificate is renewed: a new operation under its policy, whose
 *                                      version carries the current version's tags (other issuers need a CA
 *                                      integration the emulator does not have: nothing happens);
 *                       EmailContacts  at the trigger, Key Vault e-mails the contacts: here a CertificateNearExpiry
 *                                      event (once per version; the emulator sends no e-mail);
 *   key rotation policy Rotate         at timeAfterCreate after the current version's creation, or timeBeforeExpiry
 *                                      before its expiry: the key is rotated (the new version's expiry from
 *                                      expiryTime);
 *                       Notify         at timeBeforeExpiry before expiry: a KeyNearExpiry event (once per version).
 * Each action runs once per version (marked on the version, persisted). A certificate with an operation in progress
 * is left alone.
 */
import { startOperation } from './certificates.js';
import type { VaultContext } from './context.js';
import { rotateRecord } from './keys.js';
import {
  currentVersion,
  LIFETIME_ACTION_DONE,
  NEAR_EXPIRY_EMITTED,
  type CertificateRecord,
  type KeyRecord,
  type KeyRotationPolicy,
  type LifetimeAction,
  type VersionBase,
} from './model.js';
import { isSelfIssued } from './policy.js';
import { addIsoDuration, parseIsoDuration } from './time.js';

export interface LifetimeActionReport {
  /** `vault/name` of certificates whose AutoRenew started a new version. */
  renewed: string[];
  /** `vault/name` of keys rotated by their rotation policy. */
  rotated: string[];
  /** `vault/type/name` of NearExpiry events sent for EmailContacts or Notify. */
  notified: string[];
}

const DAY_MS = 86_400_000;

/** When a certificate lifetime action triggers for a version valid from nbf to exp (Unix seconds), in ms. */
export function certificateTrigger(action: LifetimeAction, nbf: number, exp: number): number | undefined {
  if (action.daysBeforeExpiry !== undefined) return exp * 1000 - action.daysBeforeExpiry * DAY_MS;
  if (action.lifetimePercentage !== undefined) return nbf * 1000 + ((exp - nbf) * 1000 * action.lifetimePercentage) / 100;
  return undefined;
}

/** When a key rotation policy action triggers for a version, in ms (undefined: never, e.g. no expiry). */
export function keyTrigger(action: KeyRotationPolicy['lifetimeActions'][number], version: VersionBase): number | undefined {
  if (action.timeAfterCreate) {
    const duration = parseIsoDuration(action.timeAfterCreate);
    return duration && addIsoDuration(new Date(version.attributes.created * 1000), duration).getTime();
  }
  if (action.timeBeforeExpiry && version.attributes.exp !== null) {
    const duration = parseIsoDuration(action.timeBeforeExpiry);
    if (!duration) return undefined;
    const exp = version.attributes.exp * 1000;
    // exp - duration: the same calendar arithmetic backwards.
    return exp - (addIsoDuration(new Date(exp), duration).getTime() - exp);
  }
  return undefined;
}

async function certificateActions(vault: VaultContext, record: CertificateRecord, nowMs: number, report: LifetimeActionReport): Promise<void> {
  if (record.operation?.status === 'inProgress') return;
  const version = currentVersion(record);
  const { nbf, exp } = version?.attributes ?? {};
  if (!version || version.expiryEvents & LIFETIME_ACTION_DONE || nbf === null || nbf === undefined || exp === null || exp === undefined) return;
  for (const action of record.policy.lifetimeActions) {
    const at = certificateTrigger(action, nbf, exp);
    if (at === undefined || nowMs < at) continue;
    version.expiryEvents |= LIFETIME_ACTION_DONE;
    vault.changed();
    if (action.action === 'AutoRenew') {
      if (!isSelfIssued(record.policy)) continue;
      await startOperation(vault, record.name, record.policy, { enabled: true, tags: version.tags });
      report.renewed.push(`${vault.name}/${record.name}`);
    } else if (!(version.expiryEvents & NEAR_EXPIRY_EMITTED)) {
      version.expiryEvents |= NEAR_EXPIRY_EMITTED;
      vault.emitNearExpiry('Certificate', record.name, version);
      report.notified.push(`${vault.name}/certificate/${record.name}`);
    }
    return;
  }
}

async function keyActions(vault: VaultContext, record: KeyRecord, nowMs: number, report: LifetimeActionReport): Promise<void> {
  const version = currentVersion(record);
  if (record.managed || !record.rotationPolicy || !version) return;
  for (const action of record.rotationPolicy.lifetimeActions) {
    const at = keyTrigger(action, version);
    if (at === undefined || nowMs < at) continue;
    if (action.action === 'Rotate' && !(version.expiryEvents & LIFETIME_ACTION_DONE)) {
      version.expiryEvents |= LIFETIME_ACTION_DONE;
      await rotateRecord(vault, record);
      report.rotated.push(`${vault.name}/${record.name}`);
      return;
    }
    if (action.action === 'Notify' && !(version.expiryEvents & NEAR_EXPIRY_EMITTED)) {
      version.expiryEvents |= NEAR_EXPIRY_EMITTED;
      vault.emitNearExpiry('Key', record.name, version);
      vault.changed();
      report.notified.push(`${vault.name}/key/${record.name}`);
    }
  }
}

/** Performs every lifetime action that is due on the emulator's clock in `vault`. */
export async function runLifetimeActions(vault: VaultContext, report: LifetimeActionReport): Promise<void> {
  const nowMs = vault.now().getTime();
  for (const record of [...vault.state.certificates.values()]) await certificateActions(vault, record, nowMs, report);
  for (const record of [...vault.state.keys.values()]) await keyActions(vault, record, nowMs, report);
}
