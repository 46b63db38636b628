/**
 * `rotor describe <vault> <type> <name>` (like `cmctl status certificate` or `aws secretsmanager describe-secret`):
 * one object's versions with expiry and thumbprint, its current rotation, and each consumer with the version it
 * uses. Reads the vault's version list (bounded), the object's state row and its consumers' last check; writes nothing.
 */
import { findVault, resolveObjectPolicy } from './config.js';
import { MS_PER_DAY, type ObjectType } from './model.js';
import { evaluate, nextRotationDate } from './policy.js';
import type { RotorServices } from './rotor.js';
import type { RotationState } from './state.js';

/** At most this many versions are listed (newest first); an object with more says so. */
export const DESCRIBE_VERSION_LIMIT = 50;

export interface VersionEntry {
  readonly version: string;
  readonly current: boolean;
  readonly enabled: boolean;
  readonly createdOn?: string | undefined;
  readonly notBefore?: string | undefined;
  readonly expiresOn?: string | undefined;
  readonly thumbprint?: string | undefined;
  /** Who made it: "rotor" when its rotation-id tag or Rotor's state names it. */
  readonly createdBy?: string | undefined;
}

export interface ConsumerUse {
  readonly consumer: string;
  readonly id: string;
  readonly kind: string;
  readonly state: string;
  readonly reason: string;
  readonly detail: string;
  readonly expected: string;
  readonly observed: string;
  /** The version the consumer uses, when what it reports matches a listed version (by id or thumbprint). */
  readonly usesVersion?: string | undefined;
  readonly checkedAt: string;
}

export interface ObjectDescription {
  readonly vault: string;
  readonly type: ObjectType;
  readonly name: string;
  readonly currentVersion: string;
  readonly enabled: boolean;
  readonly expiresOn?: string | undefined;
  readonly daysLeft?: number | undefined;
  readonly nextRotation?: string | undefined;
  readonly mode?: string | undefined;
  readonly finding?: string | undefined;
  readonly secretId?: string | undefined;
  readonly versions: VersionEntry[];
  readonly versionsTruncated: boolean;
  readonly rotation?:
    | {
        readonly rotationId: string;
        readonly state: string;
        readonly trigger: string;
        readonly reason: string;
        readonly fromVersion: string;
        readonly toVersion: string;
        readonly fromThumbprint: string;
        readonly toThumbprint: string;
        readonly attempts: number;
        readonly startedAt?: string | undefined;
        readonly completedAt?: string | undefined;
        readonly lastError: string;
        readonly verifyDeadline?: string | undefined;
        readonly nextCheckAt?: string | undefined;
      }
    | undefined;
  readonly consumers: ConsumerUse[];
}

export class ObjectNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ObjectNotFoundError';
  }
}

const iso = (d: Date | undefined): string | undefined => d?.toISOString();

/** The state word of a rotation, in the vocabulary run, status, the timeline and the page share. */
export function rotationStateWord(state: Pick<RotationState, 'status' | 'attempts'>, maxAttempts: number): string {
  if (state.status === 'Failed' && (state.attempts ?? 0) >= maxAttempts) return 'ManualActionRequired';
  return state.status;
}

export async function describeObject(
  services: Pick<RotorServices, 'config' | 'gateway' | 'states' | 'clock' | 'consumerResults'>,
  target: { vault: string; type: ObjectType; name: string },
): Promise<ObjectDescription> {
  const vault = findVault(services.config, target.vault);
  if (!vault) throw new ObjectNotFoundError(`vault "${target.vault}" is not in the configuration`);
  const gateway = services.gateway(vault);
  const current = await gateway.getCurrent(target.type, target.name);
  if (!current) throw new ObjectNotFoundError(`${target.type} "${target.name}" does not exist in vault ${vault.name}`);
  const now = services.clock.now();
  const versions: VersionEntry[] = [];
  let truncated = false;
  const all = [];
  for await (const page of gateway.listVersions(target.type, target.name)) {
    all.push(...page);
    if (all.length > 10 * DESCRIBE_VERSION_LIMIT) {
      truncated = true;
      break;
    }
  }
  all.sort((a, b) => (b.createdOn?.getTime() ?? 0) - (a.createdOn?.getTime() ?? 0));
  if (all.length > DESCRIBE_VERSION_LIMIT) truncated = true;
  const state = (await services.states.get(vault.name, target.type, target.name))?.value;
  const rotorVersions = new Set([state?.toVersion].filter((v): v is string => Boolean(v)));
  for (const v of all.slice(0, DESCRIBE_VERSION_LIMIT)) {
    const version = v.version ?? '';
    versions.push({
      version,
      current: version === current.version,
      enabled: v.enabled,
      createdOn: iso(v.createdOn),
      notBefore: iso(v.notBefore),
      expiresOn: iso(v.expiresOn),
      thumbprint: v.thumbprint,
      createdBy: rotorVersions.has(version) || v.tags['rotor-rotation-id'] ? 'rotor' : undefined,
    });
  }
  const resolution = resolveObjectPolicy(services.config, current);
  const finding = evaluate({ object: current, resolution }, now);
  const consumers = state?.rotationId && services.consumerResults ? await services.consumerResults.list(state.rotationId) : [];
  const byThumbprint = new Map(versions.filter((v) => v.thumbprint).map((v) => [v.thumbprint!.toUpperCase(), v.version]));
  const byVersion = new Set(versions.map((v) => v.version));
  const uses = (observed: string): string | undefined => {
    if (!observed) return undefined;
    if (byVersion.has(observed)) return observed;
    const thumb = byThumbprint.get(observed.toUpperCase());
    if (thumb) return thumb;
    const tail = observed.split('/').filter(Boolean).pop() ?? '';
    return byVersion.has(tail) ? tail : undefined;
  };
  return {
    vault: vault.name,
    type: target.type,
    name: current.name,
    currentVersion: current.version,
    enabled: current.enabled,
    expiresOn: iso(current.expiresOn),
    daysLeft: current.expiresOn ? Math.floor((current.expiresOn.getTime() - now.getTime()) / MS_PER_DAY) : undefined,
    nextRotation: resolution.ok ? iso(nextRotationDate(current, resolution.policy)) : undefined,
    mode: resolution.ok ? resolution.policy.mode : undefined,
    finding: finding && finding.disposition !== 'ignore' ? `${finding.reason}: ${finding.message}` : undefined,
    secretId: current.secretId,
    versions,
    versionsTruncated: truncated,
    rotation:
      state && state.rotationId
        ? {
            rotationId: state.rotationId,
            state: rotationStateWord(state, services.config.rotation.maxAttempts),
            trigger: state.trigger,
            reason: state.reason,
            fromVersion: state.fromVersion ?? '',
            toVersion: state.toVersion ?? '',
            fromThumbprint: state.fromThumbprint ?? '',
            toThumbprint: state.toThumbprint ?? '',
            attempts: state.attempts ?? 0,
            startedAt: iso(state.startedAt),
            completedAt: iso(state.completedAt),
            lastError: state.lastError ?? '',
            verifyDeadline: iso(state.verifyDeadline),
            nextCheckAt: iso(state.nextCheckAt),
          }
        : undefined,
    consumers: consumers.map((c) => ({
      consumer: c.label,
      id: c.id,
      kind: c.kind,
      state: c.status,
      reason: c.reason,
      detail: c.detail,
      expected: c.expected,
      observed: c.observed,
      usesVersion: uses(c.observed),
      checkedAt: c.checkedAt.toISOString(),
    })),
  };
}
