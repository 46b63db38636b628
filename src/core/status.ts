/**
 * `rotor status`: for every managed object — days left, next rotation, last rotation, and each consumer's state —
 * like `cmctl status`. Reads list pages and the state rows of each vault; writes nothing.
 */
import { findVault, resolveObjectPolicy, vaultTypes } from './config.js';
import type { ConsumerStatus } from './consumers.js';
import { MS_PER_DAY, type ObjectType } from './model.js';
import { evaluate, nextRotationDate } from './policy.js';
import type { ConsumerResultReader } from './ports.js';
import type { RotationContext } from './rotation.js';
import type { ConsumerCounts, RotationState } from './state.js';

export interface ConsumerStatusEntry {
  readonly consumer: string;
  /** The consumer's stable id (ARM id of a pool or cache, hpcpack://cluster/node). */
  readonly id: string;
  readonly status: ConsumerStatus;
  readonly reason: string;
  readonly detail: string;
  readonly expected: string;
  readonly observed: string;
  readonly checkedAt: string;
  readonly nextCheckAt?: string | undefined;
  /** When it first confirmed the new version, if it did. */
  readonly verifiedAt?: string | undefined;
}

export interface ObjectStatus {
  readonly vault: string;
  readonly type: ObjectType;
  readonly name: string;
  readonly enabled: boolean;
  readonly expiresOn?: string | undefined;
  readonly daysLeft?: number | undefined;
  readonly nextRotation?: string | undefined;
  /** The trigger rule that fires now, if any (why it is due or reported). */
  readonly finding?: string | undefined;
  readonly mode?: string | undefined;
  readonly lastRotation?:
    | {
        rotationId: string;
        status: RotationState['status'];
        startedAt?: string | undefined;
        completedAt?: string | undefined;
        fromVersion: string;
        toVersion: string;
        lastError: string;
        /** Consumers by state after the last check, and when the next check is due. */
        consumerCounts?: ConsumerCounts | undefined;
        checks?: number | undefined;
        nextCheckAt?: string | undefined;
      }
    | undefined;
  readonly consumers: ConsumerStatusEntry[];
}

const iso = (d: Date | undefined): string | undefined => d?.toISOString();

export async function vaultStatus(
  ctx: Pick<RotationContext, 'config' | 'gateway' | 'states' | 'clock'> & { consumerResults?: ConsumerResultReader | undefined },
): Promise<ObjectStatus[]> {
  const vault = findVault(ctx.config, ctx.gateway.vault.name);
  if (!vault) throw new Error(`vault "${ctx.gateway.vault.name}" is not in the configuration`);
  const states = new Map<string, RotationState>();
  for await (const s of ctx.states.list(vault.name)) states.set(`${s.value.objectType}/${s.value.objectName.toLowerCase()}`, s.value);
  const now = ctx.clock.now();
  const out: ObjectStatus[] = [];
  for (const type of vaultTypes(ctx.config, vault)) {
    for await (const page of ctx.gateway.listObjects(type)) {
      for (const object of page) {
        if (object.managed && type !== 'certificate') continue; // rotates with its certificate
        const resolution = resolveObjectPolicy(ctx.config, object);
        const finding = evaluate({ object, resolution }, now);
        const state = states.get(`${type}/${object.name.toLowerCase()}`);
        const consumers = state?.rotationId && state.verification && ctx.consumerResults ? await ctx.consumerResults.list(state.rotationId) : [];
        out.push({
          vault: vault.name,
          type,
          name: object.name,
          enabled: object.enabled,
          expiresOn: iso(object.expiresOn),
          daysLeft: object.expiresOn ? Math.floor((object.expiresOn.getTime() - now.getTime()) / MS_PER_DAY) : undefined,
          nextRotation: resolution.ok ? iso(nextRotationDate(object, resolution.policy)) : undefined,
          finding: finding && finding.disposition !== 'ignore' ? `${finding.reason}: ${finding.message}` : undefined,
          mode: resolution.ok ? resolution.policy.mode : undefined,
          lastRotation:
            state && state.rotationId
              ? {
                  rotationId: state.rotationId,
                  status: state.status,
                  startedAt: iso(state.startedAt),
                  completedAt: iso(state.completedAt),
                  fromVersion: state.fromVersion ?? '',
                  toVersion: state.toVersion ?? '',
                  lastError: state.lastError ?? '',
                  consumerCounts: state.verification?.counts,
                  checks: state.verification?.checks,
                  nextCheckAt: state.status === 'Verifying' ? iso(state.nextCheckAt) : undefined,
                }
              : undefined,
          consumers: consumers.map((c) => ({
            consumer: c.label,
            id: c.id,
            status: c.status,
            reason: c.reason,
            detail: c.detail,
            expected: c.expected,
            observed: c.observed,
            checkedAt: c.checkedAt.toISOString(),
            nextCheckAt: iso(c.nextCheckAt),
            verifiedAt: iso(c.verifiedAt),
          })),
        });
      }
    }
  }
  return out.sort((a, b) => a.type.localeCompare(b.type) || a.name.localeCompare(b.name));
}
