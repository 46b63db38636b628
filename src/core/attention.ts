/**
 * "Needs attention": every open problem of the estate, derived from what is true now (each object's current version,
 * its rotation state and its consumers' last check, and what a run would do with it) — not from what a run happened
 * to write. So a problem is listed every time until it is resolved, not only the first time it was seen, and the CLI
 * can turn it into an exit code for cron jobs and pipelines (`--fail-on`).
 */
import type { VaultConfig } from './config.js';
import type { RotorServices } from './rotor.js';
import { planVault, type PlanEntry } from './scan.js';
import { vaultStatus, type ObjectStatus } from './status.js';

/** The kinds of open problem, each selectable with `--fail-on`. */
export const ATTENTION_KINDS = ['expired', 'failed', 'manual', 'stale', 'unreachable', 'misconfigured', 'overdue'] as const;
export type AttentionKind = (typeof ATTENTION_KINDS)[number];

export const ATTENTION_MEANING: Readonly<Record<AttentionKind, string>> = {
  expired: 'the current version of an enabled object has expired',
  failed: 'a rotation failed (and is retrying, or gave up after its attempts)',
  manual: 'a person must act: notify-only objects that are due, issuers Key Vault cannot renew, policy violations, secrets without a generator or without an expiry',
  stale: 'a consumer still uses a previous version (Stale, UnknownCertificate)',
  unreachable: 'a consumer could not be checked (Unreachable)',
  misconfigured: 'a consumer is set up so that it cannot pick up a new version (Misconfigured)',
  overdue: "an externally rotated secret is older than its expected rotation period, or Key Vault's own renewal of an object did not happen by its trigger plus the grace period",
};

export interface AttentionItem {
  readonly kind: AttentionKind;
  readonly vault: string;
  readonly type: string;
  readonly name: string;
  /** For consumer problems: the consumer's label (full, never shortened here). */
  readonly consumer?: string | undefined;
  /** Machine-readable reason (finding reason, consumer reason, rotation status). */
  readonly reason: string;
  readonly message: string;
}

type Planned = PlanEntry & { readonly vault: string };

const CONSUMER_KINDS: Readonly<Record<string, AttentionKind>> = {
  Stale: 'stale',
  UnknownCertificate: 'stale',
  Unreachable: 'unreachable',
  Misconfigured: 'misconfigured',
};

const PLAN_KINDS: Readonly<Record<PlanEntry['action'], AttentionKind | undefined>> = {
  manual: 'manual',
  refuse: 'manual',
  notify: 'manual',
  report: undefined,
  rotate: undefined,
  skip: undefined,
};

const REPORT_KINDS: Readonly<Record<string, AttentionKind>> = {
  ExternalRotationStale: 'overdue',
  RenewalOverdue: 'overdue',
  InvalidPolicy: 'manual',
  NoExpiry: 'manual',
};

const key = (o: { vault: string; type: string; name: string }): string => `${o.vault}/${o.type}/${o.name.toLowerCase()}`;

/**
 * Every open problem, ordered by kind (most urgent first), then vault, object and consumer. `plan` is what a run
 * would do with each object now (src/core/scan.ts planVault); objects that a run would simply rotate are not problems.
 */
export function needsAttention(statuses: readonly ObjectStatus[], plan: readonly Planned[], now: Date): AttentionItem[] {
  const out: AttentionItem[] = [];
  const seen = new Set<string>();
  const add = (item: AttentionItem): void => {
    const id = `${item.kind}|${key(item)}|${item.consumer ?? ''}`;
    if (seen.has(id)) return;
    seen.add(id);
    out.push(item);
  };
  for (const s of statuses) {
    const object = { vault: s.vault, type: s.type, name: s.name };
    if (s.enabled && s.expiresOn && Date.parse(s.expiresOn) <= now.getTime()) {
      add({ ...object, kind: 'expired', reason: 'Expired', message: `expired ${s.expiresOn.slice(0, 16).replace('T', ' ')} UTC` });
    }
    const last = s.lastRotation;
    if (last?.status === 'Failed') {
      add({ ...object, kind: 'failed', reason: 'RotationFailed', message: last.lastError || `rotation ${last.rotationId} failed` });
    }
    for (const c of s.consumers) {
      const kind = CONSUMER_KINDS[c.status];
      if (kind) add({ ...object, kind, consumer: c.consumer, reason: c.reason || c.status, message: c.detail });
    }
  }
  for (const p of plan) {
    const kind = PLAN_KINDS[p.action] ?? (p.action === 'report' ? REPORT_KINDS[p.reason] : undefined);
    if (!kind) continue;
    add({ vault: p.vault, type: p.type, name: p.name, kind, reason: p.reason, message: p.message });
  }
  const rank = (k: AttentionKind): number => ATTENTION_KINDS.indexOf(k);
  return out.sort(
    (a, b) =>
      rank(a.kind) - rank(b.kind) ||
      a.vault.localeCompare(b.vault) ||
      `${a.type}/${a.name}`.localeCompare(`${b.type}/${b.name}`) ||
      (a.consumer ?? '').localeCompare(b.consumer ?? ''),
  );
}

/** Parses `--fail-on`: a comma-separated list of kinds, `all`, or `none`. */
export function parseFailOn(value: string): { ok: true; kinds: ReadonlySet<AttentionKind> } | { ok: false; message: string } {
  const parts = value
    .split(',')
    .map((p) => p.trim().toLowerCase())
    .filter(Boolean);
  if (!parts.length) return { ok: false, message: `must list kinds (${ATTENTION_KINDS.join(', ')}), "all" or "none"` };
  if (parts.length === 1 && parts[0] === 'none') return { ok: true, kinds: new Set() };
  if (parts.length === 1 && parts[0] === 'all') return { ok: true, kinds: new Set(ATTENTION_KINDS) };
  const bad = parts.filter((p) => !(ATTENTION_KINDS as readonly string[]).includes(p));
  if (bad.length) return { ok: false, message: `unknown kind ${bad.map((b) => `"${b}"`).join(', ')}; use ${ATTENTION_KINDS.join(', ')}, "all" or "none"` };
  return { ok: true, kinds: new Set(parts as AttentionKind[]) };
}

export interface EstateView {
  readonly statuses: ObjectStatus[];
  readonly plan: Planned[];
  readonly attention: AttentionItem[];
}

/** Status, plan and open problems of the given vaults (reads list pages and state rows; writes nothing). */
export async function estateView(
  services: Pick<RotorServices, 'config' | 'gateway' | 'states' | 'clock' | 'consumerResults'>,
  vaults: readonly VaultConfig[],
): Promise<EstateView> {
  const statuses: ObjectStatus[] = [];
  const plan: Planned[] = [];
  for (const vault of vaults) {
    const gateway = services.gateway(vault);
    const [s, p] = await Promise.all([
      vaultStatus({ config: services.config, gateway, states: services.states, clock: services.clock, consumerResults: services.consumerResults }),
      planVault({ config: services.config, gateway, clock: services.clock }),
    ]);
    statuses.push(...s);
    plan.push(...p.map((e) => ({ ...e, vault: vault.name })));
  }
  return { statuses, plan, attention: needsAttention(statuses, plan, services.clock.now()) };
}
