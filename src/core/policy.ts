/**
 * "Is this object due?" — a chain of small pure rules with an injected clock, modelled on cert-manager's trigger
 * policy chain. Each rule looks at one object (as its list page reports it) and its resolved policy and either
 * passes (undefined) or returns a finding: a reason (which becomes the audit row's `reason`), a message for people,
 * and what the finding calls for. The first rule that fires wins.
 */
import type { ObjectPolicy, PolicyResolution } from './config.js';
import { MS_PER_DAY, type KeyVaultRenewal, type ObjectSnapshot } from './model.js';

export type FindingReason =
  | 'ManagedByCertificate'
  | 'InvalidPolicy'
  | 'Disabled'
  | 'ExternalRotationStale'
  | 'ExternallyRotated'
  | 'NoExpiry'
  | 'Expired'
  | 'NearExpiry'
  | 'LifetimeElapsed'
  /** Not due, but a person asked for a new version now (rotateNow with force). */
  | 'ManualRequest';

/**
 * - rotate: the object is due for a new version;
 * - report: something an auditor must see, but nothing to rotate;
 * - ignore: nothing to do or say (not due, or not Rotor's to manage).
 */
export type Disposition = 'rotate' | 'report' | 'ignore';

export interface Finding {
  readonly reason: FindingReason;
  readonly message: string;
  readonly disposition: Disposition;
}

export interface RuleInput {
  readonly object: ObjectSnapshot;
  readonly resolution: PolicyResolution;
}

export type TriggerRule = (input: RuleInput, now: Date) => Finding | undefined;

const day = (d: Date): string => d.toISOString().slice(0, 10);
const daysBetween = (from: Date, to: Date): number => (to.getTime() - from.getTime()) / MS_PER_DAY;
const fmtDays = (days: number): string => `${Math.abs(days) < 10 ? Math.abs(days).toFixed(1) : Math.round(Math.abs(days))} days`;
const policyOf = (input: RuleInput): ObjectPolicy | undefined => (input.resolution.ok ? input.resolution.policy : undefined);
const isExternal = (input: RuleInput): boolean => policyOf(input)?.secretKind?.generator === 'external';

/** Keys and secrets that back a certificate rotate with the certificate. */
export const managedByCertificate: TriggerRule = ({ object }) =>
  object.managed && object.type !== 'certificate'
    ? { reason: 'ManagedByCertificate', message: `${object.type} backs certificate ${object.name}; it rotates with it`, disposition: 'ignore' }
    : undefined;

/** A tag that does not parse affects this object only. */
export const invalidPolicy: TriggerRule = ({ resolution }) =>
  resolution.ok ? undefined : { reason: 'InvalidPolicy', message: `${resolution.field}: ${resolution.message}`, disposition: 'report' };

export const disabled: TriggerRule = ({ object }) =>
  object.enabled
    ? undefined
    : { reason: 'Disabled', message: 'the current version is disabled; Rotor does not rotate disabled objects', disposition: 'report' };

/** Externally rotated secrets (Operator Nexus): never written by Rotor; a version older than expected is stale. */
export const externalRotation: TriggerRule = (input, now) => {
  if (input.object.type !== 'secret' || !isExternal(input)) return undefined;
  const expected = policyOf(input)?.expectedRotationMs;
  const created = input.object.createdOn ?? input.object.notBefore;
  if (expected !== undefined && created) {
    const age = now.getTime() - created.getTime();
    if (age > expected) {
      return {
        reason: 'ExternalRotationStale',
        message:
          `current version created ${day(created)} is ${fmtDays(age / MS_PER_DAY)} old, older than its expected ` +
          `rotation period of ${fmtDays(expected / MS_PER_DAY)}; the system that rotates it has not delivered a new version`,
        disposition: 'report',
      };
    }
  }
  if (input.object.expiresOn && input.object.expiresOn.getTime() <= now.getTime()) {
    return { reason: 'Expired', message: `expired ${day(input.object.expiresOn)}; rotated externally, Rotor does not write it`, disposition: 'report' };
  }
  return { reason: 'ExternallyRotated', message: 'rotated by another system; within its expected rotation period', disposition: 'ignore' };
};

export const noExpiry: TriggerRule = ({ object }) =>
  object.expiresOn
    ? undefined
    : {
        reason: 'NoExpiry',
        message: 'the current version has no expiry date, so Rotor cannot tell when it is due; set an expiry',
        disposition: 'report',
      };

export const expired: TriggerRule = ({ object }, now) =>
  object.expiresOn && object.expiresOn.getTime() <= now.getTime()
    ? { reason: 'Expired', message: `expired ${day(object.expiresOn)} (${fmtDays(daysBetween(object.expiresOn, now))} ago)`, disposition: 'rotate' }
    : undefined;

export const nearExpiry: TriggerRule = (input, now) => {
  const days = policyOf(input)?.renewBefore.days;
  const exp = input.object.expiresOn;
  if (days === undefined || !exp) return undefined;
  const left = daysBetween(now, exp);
  if (left > days) return undefined;
  const source = policyOf(input)?.sources['renewBefore'];
  return {
    reason: 'NearExpiry',
    message: `expires ${day(exp)} (${fmtDays(left)} left), inside the renew-before window of ${days} days${source ? ` (${source})` : ''}`,
    disposition: 'rotate',
  };
};

export const lifetimeElapsed: TriggerRule = (input, now) => {
  const percent = policyOf(input)?.renewBefore.percentOfLifetime;
  const exp = input.object.expiresOn;
  const start = input.object.notBefore ?? input.object.createdOn;
  if (percent === undefined || !exp || !start || exp.getTime() <= start.getTime()) return undefined;
  const lifetime = exp.getTime() - start.getTime();
  const elapsed = ((now.getTime() - start.getTime()) / lifetime) * 100;
  if (elapsed < percent) return undefined;
  const source = policyOf(input)?.sources['renewBefore'];
  return {
    reason: 'LifetimeElapsed',
    message:
      `${elapsed.toFixed(1)} % of its ${fmtDays(lifetime / MS_PER_DAY)} lifetime has elapsed (rotate at ${percent} %` +
      `${source ? `, ${source}` : ''}); expires ${day(exp)}`,
    disposition: 'rotate',
  };
};

/** The chain, in order. */
export const TRIGGER_RULES: readonly TriggerRule[] = [
  managedByCertificate,
  invalidPolicy,
  disabled,
  externalRotation,
  noExpiry,
  expired,
  nearExpiry,
  lifetimeElapsed,
];

/** Runs the chain; the first rule that fires wins. Undefined means: not due, nothing to report. */
export function evaluate(input: RuleInput, now: Date, rules: readonly TriggerRule[] = TRIGGER_RULES): Finding | undefined {
  for (const rule of rules) {
    const finding = rule(input, now);
    if (finding) return finding;
  }
  return undefined;
}

/** When the object will next be due under its policy (for `rotor status`), or undefined without an expiry. */
export function nextRotationDate(object: ObjectSnapshot, policy: ObjectPolicy): Date | undefined {
  const exp = object.expiresOn;
  if (!exp) return undefined;
  const candidates: number[] = [];
  if (policy.renewBefore.days !== undefined) candidates.push(exp.getTime() - policy.renewBefore.days * MS_PER_DAY);
  const start = object.notBefore ?? object.createdOn;
  if (policy.renewBefore.percentOfLifetime !== undefined && start && exp > start) {
    candidates.push(start.getTime() + ((exp.getTime() - start.getTime()) * policy.renewBefore.percentOfLifetime) / 100);
  }
  return candidates.length ? new Date(Math.min(...candidates)) : exp;
}

/**
 * Coexistence with Key Vault's own renewal (a certificate policy's AutoRenew with an issuer Key Vault can use, a key
 * rotation policy's Rotate): such an object is Key Vault's to renew, and Rotor creates no version for it
 * (`keyVaultLifetimeActions: respect`) — one due point, one renewal. Rotor only reports it: `KeyVaultManaged` while
 * Key Vault's trigger (plus a grace period) has not passed, `RenewalOverdue` once it has and no new version appeared.
 */
export type KeyVaultRenewalFinding =
  | { readonly reason: 'KeyVaultManaged'; readonly dueAt?: Date | undefined; readonly message: string }
  | { readonly reason: 'RenewalOverdue'; readonly dueAt: Date; readonly message: string };

/** When Key Vault's renewal of this version is due, or undefined when the version's dates do not tell. */
export function keyVaultRenewalDue(object: ObjectSnapshot, renewal: KeyVaultRenewal): Date | undefined {
  const exp = object.expiresOn?.getTime();
  const start = (object.notBefore ?? object.createdOn)?.getTime();
  const created = (object.createdOn ?? object.notBefore)?.getTime();
  if (renewal.lifetimePercentage !== undefined && exp !== undefined && start !== undefined && exp > start) {
    return new Date(start + ((exp - start) * renewal.lifetimePercentage) / 100);
  }
  if (renewal.daysBeforeExpiry !== undefined && exp !== undefined) return new Date(exp - renewal.daysBeforeExpiry * MS_PER_DAY);
  if (renewal.afterCreateMs !== undefined && created !== undefined) return new Date(created + renewal.afterCreateMs);
  if (renewal.beforeExpiryMs !== undefined && exp !== undefined) return new Date(exp - renewal.beforeExpiryMs);
  return undefined;
}

export function keyVaultRenewalFinding(object: ObjectSnapshot, renewal: KeyVaultRenewal, now: Date, graceMs: number): KeyVaultRenewalFinding {
  const dueAt = keyVaultRenewalDue(object, renewal);
  const what = renewal.action === 'AutoRenew' ? "the certificate policy's lifetime action AutoRenew" : "the key rotation policy's action Rotate";
  if (dueAt && now.getTime() > dueAt.getTime() + graceMs) {
    return {
      reason: 'RenewalOverdue',
      dueAt,
      message:
        `Key Vault renews this ${object.type} itself (${what}), due ${dueAt.toISOString().slice(0, 16)}Z, but no new version ` +
        `appeared within the grace period of ${fmtDays(graceMs / MS_PER_DAY)}; Rotor creates none while keyVaultLifetimeActions is respect: check the ` +
        `vault (issuer, permissions) or set keyVaultLifetimeActions to takeOver`,
    };
  }
  return {
    reason: 'KeyVaultManaged',
    dueAt,
    message:
      `Key Vault renews this ${object.type} itself (${what}${dueAt ? `, due ${dueAt.toISOString().slice(0, 16)}Z` : ''}); ` +
      `Rotor creates no version and verifies the consumers of the version Key Vault creates`,
  };
}
