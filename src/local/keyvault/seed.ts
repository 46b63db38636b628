/**
 * Seeding: creates a fixture's certificates, keys and secrets with chosen validity, tags, state and history, fast
 * enough for benchmark vaults of 100,000 objects. Seeded objects share a small pool of key pairs per key shape, and
 * a seeded certificate's X.509 is issued only when first read. Seeding emits no events (NearExpiry/Expired follow
 * from the expiry check as usual).
 */
import { randomBytes } from 'node:crypto';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { z } from 'zod';
import { nowSeconds, type VaultContext } from './context.js';
import type { KeyPool, KeyShape } from './key-material.js';
import { CURVES } from './key-material.js';
import { keyShapeFor } from './keys.js';
import {
  addCertificateVersion,
  defaultKeyOps,
  KEY_TYPES,
  newVersionId,
  OBJECT_NAME,
  type CertificateRecord,
  type VersionAttributes,
} from './model.js';
import { PEM, PKCS12 } from './pkcs12.js';
import { applyPolicyInput, keyShapeOf } from './policy.js';
import { addMonths, parseIsoDuration, parseSeedTime, unixSeconds } from './time.js';
import { oid } from './wire.js';
import { KEY_USAGES } from './x509.js';

const common = {
  name: z.string().regex(OBJECT_NAME, 'must be 1-127 letters, digits and dashes'),
  tags: z.record(z.string(), z.string()).optional(),
  enabled: z.boolean().optional(),
  notBefore: z.string().optional(),
  expires: z.string().nullable().optional(),
  olderVersions: z.number().int().min(0).max(1000).optional(),
};
const keyShape = {
  keySize: z.number().int().optional(),
  curve: z.enum(CURVES).optional(),
};

const seedVaultSchema = z.strictObject({
  certificates: z
    .array(
      z.strictObject({
        ...common,
        ...keyShape,
        subject: z.string().optional(),
        dnsNames: z.array(z.string()).optional(),
        issuer: z.string().min(1).optional(),
        keyType: z.enum(KEY_TYPES).optional(),
        exportable: z.boolean().optional(),
        keyUsage: z.array(z.enum(KEY_USAGES)).optional(),
        ekus: z.array(oid).optional(),
        validityInMonths: z.number().int().min(1).max(1200).optional(),
        contentType: z.enum([PKCS12, PEM]).optional(),
        lifetimeActions: z
          .array(
            z
              .strictObject({
                action: z.enum(['AutoRenew', 'EmailContacts']),
                lifetimePercentage: z.number().int().min(1).max(99).optional(),
                daysBeforeExpiry: z.number().int().min(1).optional(),
              })
              .refine((a) => (a.lifetimePercentage === undefined) !== (a.daysBeforeExpiry === undefined), 'needs exactly one of lifetimePercentage and daysBeforeExpiry'),
          )
          .max(1)
          .optional(),
      }),
    )
    .optional(),
  keys: z
    .array(
      z.strictObject({
        ...common,
        ...keyShape,
        kty: z.enum(KEY_TYPES).optional(),
        keyOps: z.array(z.string()).optional(),
        rotationExpiryTime: z
          .string()
          .refine((v) => parseIsoDuration(v) !== undefined, 'must be an ISO 8601 duration such as P90D')
          .optional(),
        rotationActions: z
          .array(
            z
              .strictObject({
                action: z.enum(['Rotate', 'Notify']),
                timeAfterCreate: z.string().refine((v) => parseIsoDuration(v) !== undefined, 'must be an ISO 8601 duration').optional(),
                timeBeforeExpiry: z.string().refine((v) => parseIsoDuration(v) !== undefined, 'must be an ISO 8601 duration').optional(),
              })
              .refine((a) => (a.timeAfterCreate === undefined) !== (a.timeBeforeExpiry === undefined), 'needs exactly one of timeAfterCreate and timeBeforeExpiry'),
          )
          .optional(),
      }),
    )
    .optional(),
  secrets: z.array(z.strictObject({ ...common, value: z.string().optional(), contentType: z.string().optional() })).optional(),
});

/** The seed fixture schema (also what POST /_rotor/seed accepts). */
const seedFixtureSchema = z.strictObject({ vaults: z.record(z.string(), seedVaultSchema) });

/** A SeedFixture (types.ts) that passed validation. */
export type ValidSeedFixture = z.infer<typeof seedFixtureSchema>;
type ValidSeedVault = z.infer<typeof seedVaultSchema>;
type SeedCertificate = NonNullable<ValidSeedVault['certificates']>[number];
type SeedKey = NonNullable<ValidSeedVault['keys']>[number];
type SeedSecret = NonNullable<ValidSeedVault['secrets']>[number];

/** Validates a fixture; the error names the offending field. */
export function validateFixture(fixture: unknown): ValidSeedFixture {
  const result = seedFixtureSchema.safeParse(fixture);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new Error(`Invalid seed fixture: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid value'}`);
}

const DAY_MS = 86_400_000;
const YIELD_EVERY = 500;

interface VersionTimes {
  nbf: number | null;
  exp: number | null;
  created: number;
}

/** Times of the current version and of `older` earlier versions, each one lifetime before the next; oldest first. */
function history(nbf: Date | null, exp: Date | null, older: number, now: Date): VersionTimes[] {
  const lifetime = nbf && exp ? exp.getTime() - nbf.getTime() : 365 * DAY_MS;
  const created = Math.min((nbf ?? now).getTime(), now.getTime());
  const out: VersionTimes[] = [];
  for (let i = older; i >= 0; i--) {
    const shift = i * lifetime;
    out.push({
      nbf: nbf && unixSeconds(new Date(nbf.getTime() - shift)),
      exp: exp && unixSeconds(new Date(exp.getTime() - shift)),
      created: unixSeconds(new Date(created - shift)),
    });
  }
  return out;
}

function attributes(times: VersionTimes, enabled: boolean): VersionAttributes {
  return { enabled, nbf: times.nbf, exp: times.exp, created: times.created, updated: times.created };
}

/** Seed times, memoized: fixtures repeat the same few relative times many times. */
function timeParser(now: Date): (value: string | undefined | null, field: string) => Date | null {
  const cache = new Map<string, Date>();
  return (value, field) => {
    if (value === undefined || value === null) return null;
    let parsed = cache.get(value);
    if (!parsed) {
      try {
        parsed = parseSeedTime(value, now);
      } catch (err) {
        throw new Error(`${field}: ${(err as Error).message}`);
      }
      cache.set(value, parsed);
    }
    return parsed;
  };
}

interface SeedContext {
  vault: VaultContext;
  pool: KeyPool;
  now: Date;
  time: ReturnType<typeof timeParser>;
  /** Round-robin counter over the pool. */
  picks: number;
}

function certificatePlan(item: SeedCertificate, ctx: SeedContext) {
  const policy = applyPolicyInput(
    undefined,
    {
      keyType: item.keyType,
      keySize: item.keySize,
      curve: item.curve,
      exportable: item.exportable,
      contentType: item.contentType,
      subject: item.subject ?? `CN=${item.name}`,
      sans: item.dnsNames ? { dnsNames: item.dnsNames } : undefined,
      keyUsage: item.keyUsage,
      ekus: item.ekus,
      validityMonths: item.validityInMonths,
      issuer: { name: item.issuer ?? 'Self' },
      lifetimeActions: item.lifetimeActions ?? [{ action: 'EmailContacts', lifetimePercentage: 80 }],
    },
    nowSeconds(ctx.vault),
  );
  if (item.expires === null) throw new Error('expires: a certificate always expires (null is for keys and secrets)');
  const months = policy.x509.validityMonths;
  let nbf = ctx.time(item.notBefore, 'notBefore');
  let exp = ctx.time(item.expires, 'expires');
  if (!nbf) nbf = exp ? addMonths(exp, -months) : ctx.now;
  exp ??= addMonths(nbf, months);
  if (exp <= nbf) throw new Error('expires: must be after notBefore');
  return { policy, times: history(nbf, exp, item.olderVersions ?? 0, ctx.now) };
}

function seedCertificate(item: SeedCertificate, plan: ReturnType<typeof certificatePlan>, ctx: SeedContext): void {
  const { state } = ctx.vault;
  const { name } = item;
  if (state.keys.get(name)?.managed === false || state.secrets.get(name)?.managed === false) {
    throw new Error('name: a key or secret not managed by a certificate already has this name');
  }
  const { policy } = plan;
  const record: CertificateRecord = state.certificates.get(name) ?? state.certificates.add({ name, policy, versions: [], operation: undefined });
  record.policy = policy;
  const shape = keyShapeOf(policy);
  plan.times.forEach((times, i) => {
    addCertificateVersion(state, record, {
      version: newVersionId(),
      keyType: policy.keyType,
      material: ctx.pool.pick(shape, ctx.picks++),
      x509: policy.x509,
      der: undefined,
      chain: undefined,
      contentType: policy.contentType,
      exportable: policy.exportable,
      attributes: attributes(times, i === plan.times.length - 1 ? (item.enabled ?? true) : true),
      tags: item.tags,
    });
  });
}

function seedKey(item: SeedKey, shape: KeyShape, ctx: SeedContext): void {
  const { state } = ctx.vault;
  const existing = state.keys.get(item.name);
  if (existing?.managed) throw new Error('name: this key is managed by a certificate');
  const record = existing ?? state.keys.add({ name: item.name, managed: false, versions: [], rotationPolicy: undefined });
  const kty = item.kty ?? 'RSA';
  const times = history(ctx.time(item.notBefore, 'notBefore'), ctx.time(item.expires, 'expires'), item.olderVersions ?? 0, ctx.now);
  times.forEach((t, i) => {
    record.versions.push({
      version: newVersionId(),
      attributes: attributes(t, i === times.length - 1 ? (item.enabled ?? true) : true),
      tags: item.tags,
      expiryEvents: 0,
      kty,
      keyOps: item.keyOps ?? defaultKeyOps(kty),
      material: ctx.pool.pick(shape, ctx.picks++),
    });
  });
  if (item.rotationExpiryTime || item.rotationActions) {
    const now = nowSeconds(ctx.vault);
    const actions = item.rotationActions ?? [];
    record.rotationPolicy = {
      lifetimeActions: [
        ...actions,
        ...(actions.some((a) => a.action === 'Notify') ? [] : [{ action: 'Notify' as const, timeBeforeExpiry: 'P30D' }]),
      ],
      expiryTime: item.rotationExpiryTime,
      created: now,
      updated: now,
    };
  }
}

function seedSecret(item: SeedSecret, ctx: SeedContext): void {
  const { state } = ctx.vault;
  const existing = state.secrets.get(item.name);
  if (existing?.managed) throw new Error('name: this secret is managed by a certificate');
  const record = existing ?? state.secrets.add({ name: item.name, managed: false, versions: [] });
  const times = history(ctx.time(item.notBefore, 'notBefore'), ctx.time(item.expires, 'expires'), item.olderVersions ?? 0, ctx.now);
  times.forEach((t, i) => {
    record.versions.push({
      version: newVersionId(),
      value: item.value ?? randomBytes(18).toString('base64url'),
      contentType: item.contentType,
      attributes: attributes(t, i === times.length - 1 ? (item.enabled ?? true) : true),
      tags: item.tags,
      expiryEvents: 0,
    });
  });
}

/** Runs `step` for each item, naming the item in errors and letting the event loop breathe now and then. */
async function eachItem<T extends { name: string }>(
  items: readonly T[] | undefined,
  kind: string,
  step: (item: T, index: number) => void,
): Promise<void> {
  for (const [index, item] of (items ?? []).entries()) {
    try {
      step(item, index);
    } catch (err) {
      throw new Error(`${kind}[${index}] (${item.name}): ${(err as Error).message}`);
    }
    if (index % YIELD_EVERY === YIELD_EVERY - 1) await yieldToEventLoop();
  }
}

/** Creates a (validated) seed's objects in a vault. */
export async function seedVault(vault: VaultContext, pool: KeyPool, seed: ValidSeedVault): Promise<void> {
  const ctx: SeedContext = { vault, pool, now: vault.now(), time: timeParser(vault.now()), picks: 0 };
  const certificatePlans: ReturnType<typeof certificatePlan>[] = [];
  const keyShapes: KeyShape[] = [];
  await eachItem(seed.certificates, 'certificates', (item) => certificatePlans.push(certificatePlan(item, ctx)));
  await eachItem(seed.keys, 'keys', (item) => keyShapes.push(keyShapeFor(item.kty ?? 'RSA', item.keySize, item.curve)));
  await pool.prepare([...certificatePlans.map((plan) => keyShapeOf(plan.policy)), ...keyShapes]);
  await eachItem(seed.certificates, 'certificates', (item, i) => seedCertificate(item, certificatePlans[i] as ReturnType<typeof certificatePlan>, ctx));
  await eachItem(seed.keys, 'keys', (item, i) => seedKey(item, keyShapes[i] as KeyShape, ctx));
  await eachItem(seed.secrets, 'secrets', (item) => seedSecret(item, ctx));
  vault.changed();
}
