/**
 * On-demand rotation through the queue: a request (rotateNow over HTTP, `rotor rotate` in the CLI) is accepted at
 * once and becomes an `object` work item with trigger `manual`; the queue worker runs it with the same time limits
 * as every other work item (no HTTP call waits for a certificate operation or consumer checks). Its status is read
 * from the object's rotation state and the audit rows of the request's run.
 */
import type { AuditRecord } from './audit.js';
import type { AuditReader } from './audit-query.js';
import { findVault } from './config.js';
import type { ObjectType } from './model.js';
import type { ObjectOutcome } from './rotation.js';
import { newRunId, type RotorServices } from './rotor.js';
import type { RotationState } from './state.js';

export interface RotationRequest {
  readonly vault: string;
  readonly objectType: ObjectType;
  readonly objectName: string;
  /** Rotate even when not due (reason ManualRequest); the object's mode still applies. */
  readonly force?: boolean | undefined;
}

export type RequestResult =
  | { readonly kind: 'accepted'; readonly runId: string; readonly vault: string }
  | { readonly kind: 'vaultNotManaged' }
  | { readonly kind: 'notFound' };

/** Work item hint of an on-demand rotation. */
export const MANUAL_REQUEST_HINT = 'ManualRequest';

/** Accepts an on-demand rotation: checks that the object exists, then queues it. Returns the run id to follow. */
export async function requestRotation(services: RotorServices, request: RotationRequest): Promise<RequestResult> {
  const vault = findVault(services.config, request.vault);
  if (!vault) return { kind: 'vaultNotManaged' };
  const current = await services.gateway(vault).getCurrent(request.objectType, request.objectName);
  if (!current) return { kind: 'notFound' };
  const runId = newRunId('manual', services.clock.now(), services.newId);
  await services.queue.enqueue({
    kind: 'object',
    vault: vault.name,
    objectType: request.objectType,
    objectName: request.objectName,
    runId,
    trigger: 'manual',
    hint: MANUAL_REQUEST_HINT,
    ...(request.force ? { force: true } : {}),
  });
  return { kind: 'accepted', runId, vault: vault.name };
}

/** Where an on-demand rotation stands. */
export type RequestPhase = 'Queued' | 'Running' | 'Pending' | 'Verifying' | 'Completed' | 'Failed' | 'ActionRequired' | 'NotRotated';

export interface RotationStatusView {
  readonly vault: string;
  readonly type: ObjectType;
  readonly name: string;
  readonly runId?: string | undefined;
  readonly phase: RequestPhase;
  /** The last row's reason and detail (why it is where it is). */
  readonly reason: string;
  readonly detail: string;
  readonly rotation?:
    | {
        readonly rotationId: string;
        readonly status: RotationState['status'];
        readonly fromVersion: string;
        readonly toVersion: string;
        readonly lastError: string;
        readonly nextCheckAt?: string | undefined;
      }
    | undefined;
  /** The run's audit rows, oldest first (no secret values ever reach them). */
  readonly events: ReadonlyArray<Pick<AuditRecord, 'action' | 'outcome' | 'reason' | 'detail' | 'version'> & { timestamp: string }>;
}

const PHASE_OF: Partial<Record<AuditRecord['action'], RequestPhase>> = {
  Detected: 'Running',
  RotationStarted: 'Running',
  VersionCreated: 'Running',
  NewVersionObserved: 'Running',
  VerificationStarted: 'Verifying',
  ConsumerPending: 'Verifying',
  ConsumerStale: 'Verifying',
  ConsumerUnreachable: 'Verifying',
  ConsumerVerified: 'Verifying',
  ConsumerSkipped: 'Verifying',
  ConsumerMisconfigured: 'Verifying',
  RotationCompleted: 'Completed',
  PreviousVersionDisabled: 'Completed',
  RotationFailed: 'Failed',
  ManualActionRequired: 'ActionRequired',
  PolicyViolation: 'ActionRequired',
  Skipped: 'NotRotated',
  ExternalRotationObserved: 'NotRotated',
  ExternalRotationStale: 'ActionRequired',
};

/** Rows read per status request (an object's newest rows). */
export const STATUS_ROW_LIMIT = 200;

/** The status of an object's on-demand rotation (`runId`), or of its latest rotation. */
export async function rotationStatus(
  services: Pick<RotorServices, 'states'>,
  reader: AuditReader,
  target: { vault: string; objectType: ObjectType; objectName: string; runId?: string | undefined },
): Promise<RotationStatusView> {
  const state = (await services.states.get(target.vault, target.objectType, target.objectName))?.value;
  const { rows } = await reader.objectRows({ vault: target.vault, objectType: target.objectType, objectName: target.objectName }, STATUS_ROW_LIMIT);
  const runId = target.runId ?? (state?.rotationId ? state.runId : rows[0]?.record.runId);
  const records = rows.map((r) => r.record).filter((r) => !runId || r.runId === runId);
  const ofRun = state && (!target.runId || state.runId === target.runId) ? state : undefined;
  const last = records[0]; // newest first
  let phase: RequestPhase = last ? (PHASE_OF[last.action] ?? 'Running') : 'Queued';
  if (ofRun?.status === 'Verifying') phase = 'Verifying';
  return {
    vault: target.vault,
    type: target.objectType,
    name: target.objectName,
    runId,
    phase,
    reason: last?.reason ?? '',
    detail: last?.detail ?? (target.runId ? 'accepted; waiting for the queue worker' : 'no rotation recorded'),
    rotation: ofRun?.rotationId
      ? {
          rotationId: ofRun.rotationId,
          status: ofRun.status,
          fromVersion: ofRun.fromVersion ?? '',
          toVersion: ofRun.toVersion ?? '',
          lastError: ofRun.lastError ?? '',
          nextCheckAt: ofRun.nextCheckAt?.toISOString(),
        }
      : undefined,
    events: records
      .slice()
      .reverse()
      .map((r) => ({ timestamp: r.timestamp.toISOString(), action: r.action, outcome: r.outcome, reason: r.reason, detail: r.detail, version: r.version })),
  };
}

/** The phase a finished work item's outcome stands for (for callers that ran it themselves, like the CLI). */
export function phaseOfOutcome(outcome: ObjectOutcome | 'Error'): RequestPhase {
  switch (outcome) {
    case 'Rotated':
      return 'Completed';
    case 'Verifying':
      return 'Verifying';
    case 'Pending':
    case 'InProgressElsewhere':
      return 'Pending';
    case 'Failed':
    case 'Error':
      return 'Failed';
    case 'ManualActionRequired':
    case 'PolicyViolation':
      return 'ActionRequired';
    default:
      return 'NotRotated';
  }
}
