/**
 * Rotor's configuration: one validated document (JSON in the ROTOR_CONFIG app setting or a file) listing the vaults,
 * defaults, secret kinds and per-object overrides. Per-object overrides also come from Key Vault tags; a bad tag
 * affects that object only (see resolveObjectPolicy).
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { parseRenewBefore, parseShortDuration, type RenewBefore } from './duration.js';
import { MS_PER_DAY, OBJECT_TYPES, type ObjectSnapshot, type ObjectType } from './model.js';

export const TAGS = {
  policy: 'rotor-policy',
  renewBefore: 'rotor-renew-before',
  secretKind: 'rotor-secret-kind',
  profile: 'rotor-profile',
  expectedRotation: 'rotor-expected-rotation',
} as const;

/** Consumer checks (TLS probes, head-node calls, ARM reads) in flight at once per instance, by default. */
export const DEFAULT_CONSUMER_CONCURRENCY = 64;

export const MODES = ['auto', 'notify', 'off'] as const;
export type Mode = (typeof MODES)[number];

/** Requirement profiles a new version must meet: HPC Pack cluster certificates (seed 000), HPC Cache keys (seed 002). */
export const PROFILES = ['hpc-pack', 'hpc-cache'] as const;
export type Profile = (typeof PROFILES)[number];

const vaultName = z
  .string()
  .regex(/^[a-zA-Z][a-zA-Z0-9-]{1,62}[a-zA-Z0-9]$/, 'must be a Key Vault name (letters, digits and hyphens)');

const renewBeforeText = z.string().superRefine((value, ctx) => {
  const parsed = parseRenewBefore(value);
  if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.message });
});

const renewBeforeObject = z
  .object({
    days: z.number().int().min(1).max(3650).optional(),
    percentOfLifetime: z.number().gt(0).lt(100).optional(),
  })
  .strict()
  .refine((v) => v.days !== undefined || v.percentOfLifetime !== undefined, 'set days, percentOfLifetime or both');

const renewBefore = z.union([renewBeforeText, renewBeforeObject]);

const shortDuration = z.string().superRefine((value, ctx) => {
  const parsed = parseShortDuration(value);
  if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.message });
});

const passwordGenerator = z
  .object({
    generator: z.literal('password'),
    length: z.number().int().min(8).max(256).default(32),
    lower: z.boolean().default(true),
    upper: z.boolean().default(true),
    digits: z.boolean().default(true),
    /** Symbols to draw from; empty string for none. */
    symbols: z.string().max(64).default('!#%*+-.:=?@^_~'),
    /** At least this many characters of each enabled class. */
    minOfEach: z.number().int().min(0).max(16).default(1),
    validityDays: z.number().int().min(1).max(3650).default(90),
    contentType: z.string().max(255).optional(),
  })
  .strict()
  .refine((g) => g.lower || g.upper || g.digits || g.symbols.length > 0, 'enable at least one character class')
  .superRefine((g, ctx) => {
    const classes = [g.lower, g.upper, g.digits, g.symbols.length > 0].filter(Boolean).length;
    if (classes * g.minOfEach > g.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['length'],
        message: `must be at least ${classes * g.minOfEach} to hold ${g.minOfEach} of each of ${classes} character classes (minOfEach)`,
      });
    }
  });

const randomGenerator = z
  .object({
    generator: z.literal('random'),
    bytes: z.number().int().min(16).max(512).default(32),
    encoding: z.enum(['base64', 'base64url', 'hex']).default('base64url'),
    validityDays: z.number().int().min(1).max(3650).default(90),
    contentType: z.string().max(255).optional(),
  })
  .strict();

/** Secrets rotated by another system (Operator Nexus, seed 004): Rotor never writes them, it only observes. */
const externalGenerator = z
  .object({
    generator: z.literal('external'),
    expectedRotationDays: z.number().int().min(1).max(3650),
    rotatedBy: z.string().max(128).optional(),
  })
  .strict();

export const secretKindSchema = z.discriminatedUnion('generator', [passwordGenerator, randomGenerator, externalGenerator]);
export type SecretKind = z.infer<typeof secretKindSchema>;

const limitsSchema = z
  .object({
    /** RSA-2048 key creations (create/rotate key, create certificate) per 10 s per vault. Key Vault: 20. */
    rsa2048CreatesPer10s: z.number().int().min(1).max(10_000).default(20),
    /** Other key creations (RSA 3072/4096, EC) per 10 s per vault. */
    otherKeyCreatesPer10s: z.number().int().min(1).max(10_000).default(20),
    /** Secret writes per 10 s per vault. */
    secretWritesPer10s: z.number().int().min(1).max(10_000).default(300),
  })
  .strict();

const vaultSchema = z
  .object({
    name: vaultName,
    url: z.url({ protocol: /^https$/, error: 'must be an https URL' }),
    types: z.array(z.enum(OBJECT_TYPES)).min(1).optional(),
    mode: z.enum(MODES).optional(),
    renewBefore: renewBefore.optional(),
    limits: limitsSchema.partial().optional(),
  })
  .strict();

const objectOverrideSchema = z
  .object({
    vault: vaultName,
    type: z.enum(OBJECT_TYPES),
    name: z.string().min(1).max(127),
    mode: z.enum(MODES).optional(),
    renewBefore: renewBefore.optional(),
    secretKind: z.string().min(1).max(64).optional(),
    profile: z.enum(PROFILES).optional(),
    expectedRotation: shortDuration.optional(),
  })
  .strict();

const objectRef = z.object({ vault: vaultName, name: z.string().min(1).max(127) }).strict();

/** A DNS name or suffix: dot-separated labels of letters, digits and hyphens (no leading or trailing hyphen). */
const DNS_SUFFIX = /^(?=.{1,253}$)([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;
/** A host to probe: a DNS name, an IPv4 address or an IPv6 address. */
const HOST = z
  .string()
  .max(253)
  .refine((h) => DNS_SUFFIX.test(h) || isIP(h) !== 0, 'must be a DNS name or an IP address');
export const MAX_STATIC_NODES = 20_000;
const staticNode = z
  .object({
    name: z.string().min(1).max(64),
    host: HOST,
    port: z.number().int().min(1).max(65535).optional(),
  })
  .strict();
const armId = (what: string) =>
  z.string().regex(/^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/[^/]+\/[^/]+\/[^/]+$/i, `must be the ARM resource id of ${what}`);

/** The consumers Rotor verifies after a rotation (issue C). */
const consumersSchema = z
  .object({
    /** Batch accounts whose pools are scanned for references to rotated certificates. */
    batch: z
      .array(
        z.union([
          z.object({ accountId: armId('a Batch account') }).strict(),
          /** Discover every Batch account of a subscription. */
          z.object({ subscriptionId: z.string().min(1) }).strict(),
        ]),
      )
      .default([]),
    /** HPC Pack clusters and the certificate their nodes present (seeds 000, 001). */
    hpcPack: z
      .array(
        z
          .object({
            name: z.string().min(1).max(64),
            certificate: objectRef,
            /**
             * The head node's REST API; credentials come from a Key Vault secret ("user:password" or JSON).
             * `caCertificate`: PEM of the CA (or the self-signed certificate) the head node's TLS certificate chains
             * to, when it is not publicly trusted — HPC Pack head nodes often present a self-signed certificate.
             */
            headNode: z
              .object({
                url: z.url({ protocol: /^https$/ }),
                credentials: objectRef,
                caCertificate: z
                  .string()
                  .max(20_000)
                  .regex(/^\s*-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----\s*$/, 'must be a PEM certificate (-----BEGIN CERTIFICATE----- …)')
                  .optional(),
              })
              .strict()
              .optional(),
            /**
             * DNS suffix of the nodes: the head node reports names (CN0042), Rotor probes `<name>.<nodeDomain>`.
             * Without it the name is probed as it is (it must resolve from the Function App).
             */
            nodeDomain: z.string().max(200).regex(DNS_SUFFIX, 'must be a DNS suffix such as hpc.contoso.com (letters, digits, hyphens, dots)').optional(),
            /**
             * A static node list (instead of, or besides, the head node's); with a head node, an entry only overrides
             * where that node is probed (name → host:port).
             */
            nodes: z.array(staticNode).max(MAX_STATIC_NODES).default([]),
            /** Node manager TLS port (Linux node manager default 40002). */
            port: z.number().int().min(1).max(65535).default(40002),
            probeTimeoutMs: z.number().int().min(100).max(60_000).default(5000),
          })
          .strict()
          .refine((c) => c.headNode || c.nodes.length, 'set headNode or nodes'),
      )
      .default([]),
    /** HPC Cache instances using customer-managed keys (seed 002). */
    hpcCache: z.array(z.object({ cacheId: armId('an HPC Cache') }).strict()).default([]),
  })
  .strict();

export const configSchema = z
  .object({
    vaults: z.array(vaultSchema).min(1, 'list at least one vault'),
    defaults: z
      .object({
        mode: z.enum(MODES).default('auto'),
        /** Default: rotate at 80 % of lifetime or 30 days before expiry, whichever comes first. */
        renewBefore: renewBefore.default({ days: 30, percentOfLifetime: 80 }),
        types: z.array(z.enum(OBJECT_TYPES)).min(1).default([...OBJECT_TYPES]),
        /** Certificate issuers Key Vault renews without a person (Self, or integrated CAs configured in the vault). */
        autoRenewableIssuers: z.array(z.string().min(1)).default(['Self']),
        /**
         * Objects Key Vault renews itself (certificate AutoRenew with an auto-renewable issuer, key rotation policy
         * Rotate): `respect` — Rotor creates no version, reports KeyVaultManaged (RenewalOverdue after the trigger plus
         * the grace period) and verifies the consumers of Key Vault's version; `takeOver` — Rotor switches the policy
         * to EmailContacts / Notify (audited) and rotates the object itself.
         */
        keyVaultLifetimeActions: z.enum(['respect', 'takeOver']).default('respect'),
        /** How long after Key Vault's trigger a missing renewal is reported RenewalOverdue. */
        keyVaultRenewalGraceHours: z.number().min(0).max(24 * 30).default(48),
      })
      .strict()
      .default({
        mode: 'auto',
        renewBefore: { days: 30, percentOfLifetime: 80 },
        types: [...OBJECT_TYPES],
        autoRenewableIssuers: ['Self'],
        keyVaultLifetimeActions: 'respect',
        keyVaultRenewalGraceHours: 48,
      }),
    secretKinds: z.record(z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'lower-case letters, digits, hyphens'), secretKindSchema).default({}),
    objects: z.array(objectOverrideSchema).default([]),
    rotation: z
      .object({
        /** Attempts before a failing rotation needs a person. */
        maxAttempts: z.number().int().min(1).max(20).default(5),
        /** First retry delay; doubles per attempt. */
        retryBaseMinutes: z.number().min(0).max(1440).default(15),
        /** A worker holds an object this long; a crashed worker's rotation resumes after it. */
        leaseMinutes: z.number().min(1).max(120).default(10),
        /** How long a certificate may stay pending before the rotation fails. */
        certificateTimeoutMinutes: z.number().min(1).max(1440).default(15),
        pollIntervalSeconds: z.number().min(0.01).max(300).default(2),
        /** Rotations in flight per vault. */
        concurrencyPerVault: z.number().int().min(1).max(200).default(32),
        /**
         * A vault's work item stops taking on objects after this long and continues in a new work item, so that one
         * invocation ends inside the Functions timeout (host.json functionTimeout, 10 minutes).
         */
        workItemMinutes: z.number().min(0.1).max(120).default(9),
        /**
         * The host's function timeout (host.json functionTimeout). No wait inside one invocation — backoff after a
         * 429, a pending certificate — runs past it minus a margin (INVOCATION_MARGIN_MS).
         */
        functionTimeoutMinutes: z.number().min(0.5).max(240).default(10),
      })
      .strict()
      .refine((r) => r.workItemMinutes < r.functionTimeoutMinutes, {
        message: 'workItemMinutes must be less than functionTimeoutMinutes',
        path: ['workItemMinutes'],
      })
      .default({
        maxAttempts: 5,
        retryBaseMinutes: 15,
        leaseMinutes: 10,
        certificateTimeoutMinutes: 15,
        pollIntervalSeconds: 2,
        concurrencyPerVault: 32,
        workItemMinutes: 9,
        functionTimeoutMinutes: 10,
      }),
    limits: limitsSchema.default({ rsa2048CreatesPer10s: 20, otherKeyCreatesPer10s: 20, secretWritesPer10s: 300 }),
    consumers: consumersSchema.default({ batch: [], hpcPack: [], hpcCache: [] }),
    verification: z
      .object({
        /** After this long without convergence the rotation fails, listing the stale consumers. */
        deadlineHours: z.number().min(0.01).max(24 * 30).default(24),
        /** Re-check interval for consumers that are not verified yet. */
        recheckMinutes: z.number().min(0.01).max(24 * 60).default(60),
        /** Disable the previous version once every consumer is verified (off: rollback stays possible). */
        disablePreviousVersion: z.boolean().default(false),
        /**
         * TLS probes, head-node calls and ARM reads in flight at once, per instance (all rotations of the process
         * share them): sized for one Functions instance's outbound connections.
         */
        concurrency: z.number().int().min(1).max(1024).default(DEFAULT_CONSUMER_CONCURRENCY),
      })
      .strict()
      .default({ deadlineHours: 24, recheckMinutes: 60, disablePreviousVersion: false, concurrency: DEFAULT_CONSUMER_CONCURRENCY }),
  })
  .strict()
  .superRefine((config, ctx) => {
    const seen = new Set<string>();
    config.vaults.forEach((v, i) => {
      const key = v.name.toLowerCase();
      if (seen.has(key)) ctx.addIssue({ code: 'custom', path: ['vaults', i, 'name'], message: `vault "${v.name}" is listed twice` });
      seen.add(key);
    });
    config.consumers.hpcPack.forEach((c, i) => {
      const names = new Set<string>();
      c.nodes.forEach((n, j) => {
        if (names.has(n.name.toLowerCase())) {
          ctx.addIssue({ code: 'custom', path: ['consumers', 'hpcPack', i, 'nodes', j, 'name'], message: `node "${n.name}" is listed twice` });
        }
        names.add(n.name.toLowerCase());
      });
      for (const [field, ref] of [['certificate', c.certificate], ...(c.headNode ? [['headNode.credentials', c.headNode.credentials] as const] : [])] as const) {
        if (!seen.has(ref.vault.toLowerCase())) {
          ctx.addIssue({ code: 'custom', path: ['consumers', 'hpcPack', i, ...field.split('.'), 'vault'], message: `vault "${ref.vault}" is not in vaults` });
        }
      }
    });
    config.objects.forEach((o, i) => {
      if (!seen.has(o.vault.toLowerCase())) {
        ctx.addIssue({ code: 'custom', path: ['objects', i, 'vault'], message: `vault "${o.vault}" is not in vaults` });
      }
      if (o.secretKind && !config.secretKinds[o.secretKind]) {
        ctx.addIssue({ code: 'custom', path: ['objects', i, 'secretKind'], message: `secret kind "${o.secretKind}" is not in secretKinds` });
      }
    });
  });

export type RotorConfig = z.infer<typeof configSchema>;
export type VaultConfig = RotorConfig['vaults'][number];
export type HpcPackClusterConfig = RotorConfig['consumers']['hpcPack'][number];

export class ConfigError extends Error {
  constructor(
    message: string,
    readonly issues: readonly string[],
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : `${acc}.${String(p)}`), 'config');
}

/** Validates a parsed JSON value. Throws ConfigError whose issues each name the field. */
export function parseConfig(value: unknown): RotorConfig {
  const result = configSchema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => `${formatPath(issue.path)}: ${issue.message}`);
  throw new ConfigError(`Invalid Rotor configuration:\n  ${issues.join('\n  ')}`, issues);
}

/** Parses configuration text (JSON). `source` names where it came from in the error. */
export function parseConfigText(text: string, source: string): RotorConfig {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const message = `${source} is not valid JSON: ${err instanceof Error ? err.message : String(err)}`;
    throw new ConfigError(message, [message]);
  }
  try {
    return parseConfig(value);
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(err.message.replace('configuration', `configuration (${source})`), err.issues);
    throw err;
  }
}

export function findVault(config: RotorConfig, name: string): VaultConfig | undefined {
  const key = name.trim().toLowerCase();
  return config.vaults.find((v) => v.name.toLowerCase() === key);
}

export function vaultTypes(config: RotorConfig, vault: VaultConfig): readonly ObjectType[] {
  return vault.types ?? config.defaults.types;
}

/** What Rotor does with one object, after defaults, vault settings, config overrides and tags. */
export interface ObjectPolicy {
  readonly mode: Mode;
  readonly renewBefore: RenewBefore;
  readonly secretKindName?: string | undefined;
  readonly secretKind?: SecretKind | undefined;
  readonly profile?: Profile | undefined;
  /** Expected rotation period of externally rotated secrets, in ms. */
  readonly expectedRotationMs?: number | undefined;
  /** Where each setting came from, for the audit row ("tag rotor-renew-before=14d"). */
  readonly sources: Readonly<Record<string, string>>;
}

export type PolicyResolution = { ok: true; policy: ObjectPolicy } | { ok: false; field: string; message: string };

const toRenewBefore = (value: string | RenewBefore): RenewBefore => {
  if (typeof value !== 'string') return value;
  const parsed = parseRenewBefore(value);
  return parsed.ok ? parsed.value : {};
};

/**
 * Resolves an object's policy: defaults ← vault ← config override ← tags. A tag that does not parse makes the
 * resolution fail naming the tag; only this object is affected (the caller audits a PolicyViolation).
 */
export function resolveObjectPolicy(config: RotorConfig, object: Pick<ObjectSnapshot, 'vault' | 'type' | 'name' | 'tags'>): PolicyResolution {
  const vault = findVault(config, object.vault);
  const override = config.objects.find(
    (o) => o.vault.toLowerCase() === object.vault.toLowerCase() && o.type === object.type && o.name === object.name,
  );
  const sources: Record<string, string> = {};
  let mode: Mode = config.defaults.mode;
  let renew = toRenewBefore(config.defaults.renewBefore);
  let secretKindName: string | undefined;
  let profile: Profile | undefined;
  let expectedRotationMs: number | undefined;
  if (vault?.mode) [mode, sources['mode']] = [vault.mode, `vault ${vault.name}`];
  if (vault?.renewBefore) [renew, sources['renewBefore']] = [toRenewBefore(vault.renewBefore), `vault ${vault.name}`];
  if (override) {
    const where = `config objects entry ${override.type}/${override.name}`;
    if (override.mode) [mode, sources['mode']] = [override.mode, where];
    if (override.renewBefore) [renew, sources['renewBefore']] = [toRenewBefore(override.renewBefore), where];
    if (override.secretKind) [secretKindName, sources['secretKind']] = [override.secretKind, where];
    if (override.profile) [profile, sources['profile']] = [override.profile, where];
    if (override.expectedRotation) {
      const parsed = parseShortDuration(override.expectedRotation);
      if (parsed.ok) [expectedRotationMs, sources['expectedRotation']] = [parsed.value, where];
    }
  }

  const tag = (name: string): string | undefined => {
    const hit = Object.entries(object.tags).find(([k]) => k.trim().toLowerCase() === name);
    return hit?.[1].trim();
  };
  const tagSource = (name: string, value: string): string => `tag ${name}=${value}`;

  const modeTag = tag(TAGS.policy);
  if (modeTag !== undefined) {
    const value = modeTag.toLowerCase();
    if (!(MODES as readonly string[]).includes(value)) {
      return { ok: false, field: `tag ${TAGS.policy}`, message: `"${modeTag}" is not one of ${MODES.join(', ')}` };
    }
    [mode, sources['mode']] = [value as Mode, tagSource(TAGS.policy, modeTag)];
  }
  const renewTag = tag(TAGS.renewBefore);
  if (renewTag !== undefined) {
    const parsed = parseRenewBefore(renewTag);
    if (!parsed.ok) return { ok: false, field: `tag ${TAGS.renewBefore}`, message: parsed.message };
    [renew, sources['renewBefore']] = [parsed.value, tagSource(TAGS.renewBefore, renewTag)];
  }
  const kindTag = tag(TAGS.secretKind);
  if (kindTag !== undefined) {
    if (!config.secretKinds[kindTag]) {
      const known = Object.keys(config.secretKinds);
      return {
        ok: false,
        field: `tag ${TAGS.secretKind}`,
        message: `"${kindTag}" is not a configured secret kind${known.length ? ` (known: ${known.join(', ')})` : ' (secretKinds is empty)'}`,
      };
    }
    [secretKindName, sources['secretKind']] = [kindTag, tagSource(TAGS.secretKind, kindTag)];
  }
  const profileTag = tag(TAGS.profile);
  if (profileTag !== undefined) {
    const value = profileTag.toLowerCase();
    if (!(PROFILES as readonly string[]).includes(value)) {
      return { ok: false, field: `tag ${TAGS.profile}`, message: `"${profileTag}" is not one of ${PROFILES.join(', ')}` };
    }
    [profile, sources['profile']] = [value as Profile, tagSource(TAGS.profile, profileTag)];
  }
  const expectedTag = tag(TAGS.expectedRotation);
  if (expectedTag !== undefined) {
    const parsed = parseShortDuration(expectedTag);
    if (!parsed.ok) return { ok: false, field: `tag ${TAGS.expectedRotation}`, message: parsed.message };
    [expectedRotationMs, sources['expectedRotation']] = [parsed.value, tagSource(TAGS.expectedRotation, expectedTag)];
  }

  const secretKind = secretKindName ? config.secretKinds[secretKindName] : undefined;
  if (secretKind?.generator === 'external' && expectedRotationMs === undefined) {
    expectedRotationMs = secretKind.expectedRotationDays * MS_PER_DAY;
    sources['expectedRotation'] = `secret kind ${secretKindName}`;
  }
  if (profile === 'hpc-pack' && object.type !== 'certificate') {
    return { ok: false, field: sources['profile'] ?? 'profile', message: 'profile hpc-pack applies to certificates only' };
  }
  if (profile === 'hpc-cache' && object.type !== 'key') {
    return { ok: false, field: sources['profile'] ?? 'profile', message: 'profile hpc-cache applies to keys only' };
  }
  return { ok: true, policy: { mode, renewBefore: renew, secretKindName, secretKind, profile, expectedRotationMs, sources } };
}
