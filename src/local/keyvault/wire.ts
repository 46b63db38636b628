/**
 * Key Vault's JSON wire shapes (2025-07-01 certificates.json, keys.json, secrets.json), mapped to and from the
 * emulator's model in this one place: request bodies are validated with zod (errors name the field) and turned into
 * model inputs; model records are turned into bundles, items, policies and operations. Ids are built here from the
 * vault's current URL, so the model only knows names and versions.
 */
import { z } from 'zod';
import { badParameter } from './errors.js';
import { CURVES } from './key-material.js';
import {
  KEY_TYPES,
  type CertificateOperation,
  type CertificatePolicy,
  type CertificateRecord,
  type CertificateVersion,
  type DeletedRecord,
  type KeyRecord,
  type KeyRotationPolicy,
  type KeyVersion,
  type LifetimeAction,
  type SecretRecord,
  type SecretVersion,
  type Tags,
  type VersionAttributes,
  type WireKeyType,
} from './model.js';
import { PEM, PKCS12 } from './pkcs12.js';
import type { PolicyInput } from './policy.js';
import { addMonths, parseIsoDuration } from './time.js';
import { KEY_USAGES, thumbprint, type SubjectAlternativeNames } from './x509.js';

export const ids = {
  certificate: (vaultUrl: string, name: string, version?: string): string =>
    `${vaultUrl}/certificates/${name}${version ? `/${version}` : ''}`,
  key: (vaultUrl: string, name: string, version?: string): string => `${vaultUrl}/keys/${name}${version ? `/${version}` : ''}`,
  secret: (vaultUrl: string, name: string, version?: string): string =>
    `${vaultUrl}/secrets/${name}${version ? `/${version}` : ''}`,
};

// ---------------------------------------------------------------------------------------------------------------
// Requests

/** Parses a JSON request body; nulls are dropped so that "absent" and null mean the same everywhere. */
export function parseJsonBody(text: string): unknown {
  if (!text.trim()) return undefined;
  try {
    return JSON.parse(text, (_key, value: unknown) => (value === null ? undefined : value));
  } catch {
    throw badParameter('The request body is not valid JSON.');
  }
}

function parse<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
  const result = schema.safeParse(body ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue?.path.length ? `'${issue.path.join('.')}'` : 'the body';
  throw badParameter(`Invalid ${what}: ${field}: ${issue?.message ?? 'invalid value'}.`);
}

const KEY_OPERATIONS = ['encrypt', 'decrypt', 'sign', 'verify', 'wrapKey', 'unwrapKey', 'import', 'export'] as const;
const tags = z.record(z.string(), z.string()).optional();
const unixTime = z.number().int().min(0);
const attributes = z
  .object({ enabled: z.boolean().optional(), nbf: unixTime.optional(), exp: unixTime.optional(), exportable: z.boolean().optional() })
  .optional();
const names = z.array(z.string()).optional();
/** An object identifier in dotted form (EKUs). */
export const oid = z.string().regex(/^\d+(\.\d+)+$/, 'must be an OID');
const isoDuration = z.string().refine((v) => parseIsoDuration(v) !== undefined, 'must be an ISO 8601 duration such as P90D');

const policySchema = z.object({
  key_props: z
    .object({
      exportable: z.boolean().optional(),
      kty: z.enum(KEY_TYPES).optional(),
      key_size: z.number().int().optional(),
      reuse_key: z.boolean().optional(),
      crv: z.enum(CURVES).optional(),
    })
    .optional(),
  secret_props: z.object({ contentType: z.enum([PKCS12, PEM]).optional() }).optional(),
  x509_props: z
    .object({
      subject: z.string().optional(),
      ekus: z.array(oid).optional(),
      sans: z.object({ emails: names, dns_names: names, upns: names, uris: names, ipAddresses: names }).optional(),
      key_usage: z.array(z.enum(KEY_USAGES)).optional(),
      validity_months: z.number().int().min(1).max(1200).optional(),
    })
    .optional(),
  lifetime_actions: z
    .array(
      z.object({
        trigger: z
          .object({
            lifetime_percentage: z.number().int().min(1).max(99).optional(),
            days_before_expiry: z.number().int().min(1).optional(),
          })
          .refine((t) => (t.lifetime_percentage === undefined) !== (t.days_before_expiry === undefined), {
            message: 'needs exactly one of lifetime_percentage and days_before_expiry',
          }),
        action: z.object({ action_type: z.enum(['EmailContacts', 'AutoRenew']) }),
      }),
    )
    .optional(),
  issuer: z.object({ name: z.string().min(1).optional(), cty: z.string().optional(), cert_transparency: z.boolean().optional() }).optional(),
  attributes,
});
type PolicyWire = z.infer<typeof policySchema>;

function policyInput(wire: PolicyWire): PolicyInput {
  const key = wire.key_props ?? {};
  const x509Props = wire.x509_props ?? {};
  const sans = x509Props.sans;
  return {
    keyType: key.kty,
    keySize: key.key_size,
    curve: key.crv,
    exportable: key.exportable,
    reuseKey: key.reuse_key,
    contentType: wire.secret_props?.contentType,
    subject: x509Props.subject,
    sans: sans && {
      emails: sans.emails,
      dnsNames: sans.dns_names,
      upns: sans.upns,
      uris: sans.uris,
      ipAddresses: sans.ipAddresses,
    },
    keyUsage: x509Props.key_usage,
    ekus: x509Props.ekus,
    validityMonths: x509Props.validity_months,
    lifetimeActions: wire.lifetime_actions?.map((a) => ({
      action: a.action.action_type,
      lifetimePercentage: a.trigger.lifetime_percentage,
      daysBeforeExpiry: a.trigger.days_before_expiry,
    })),
    issuer: wire.issuer && {
      name: wire.issuer.name,
      certificateType: wire.issuer.cty,
      certificateTransparency: wire.issuer.cert_transparency,
    },
    enabled: wire.attributes?.enabled,
  };
}

export interface AttributesInput {
  enabled?: boolean | undefined;
  nbf?: number | undefined;
  exp?: number | undefined;
}

/** Certificate create and update parameters (the same fields). */
export function parseCertificateParameters(body: unknown): { policy: PolicyInput | undefined; attributes: AttributesInput; tags: Tags | undefined } {
  const wire = parse(z.object({ policy: policySchema.optional(), attributes, tags }), body, 'certificate parameters');
  return { policy: wire.policy && policyInput(wire.policy), attributes: wire.attributes ?? {}, tags: wire.tags };
}

export interface CertificateImportInput {
  value: string;
  password: string | undefined;
  policy: PolicyInput | undefined;
  attributes: AttributesInput;
  tags: Tags | undefined;
}

export function parseCertificateImport(body: unknown): CertificateImportInput {
  const wire = parse(
    z.object({ value: z.string().min(1), pwd: z.string().optional(), policy: policySchema.optional(), attributes, tags }),
    body,
    'certificate import parameters',
  );
  return {
    value: wire.value,
    password: wire.pwd,
    policy: wire.policy && policyInput(wire.policy),
    attributes: wire.attributes ?? {},
    tags: wire.tags,
  };
}

export function parsePolicy(body: unknown): PolicyInput {
  return policyInput(parse(policySchema, body, 'certificate policy'));
}

export function parseMerge(body: unknown): { x5c: Buffer[]; attributes: AttributesInput; tags: Tags | undefined } {
  const wire = parse(
    z.object({ x5c: z.array(z.string().regex(/^[A-Za-z0-9+/=\s]+$/, 'must be base64')).min(1), attributes, tags }),
    body,
    'merge parameters',
  );
  return { x5c: wire.x5c.map(x5cEntry), attributes: wire.attributes ?? {}, tags: wire.tags };
}

/**
 * An x5c entry of a merge: base64 of a DER certificate or, as Key Vault also accepts (the SDK's own recorded test sends
 * it), base64 of a PEM or base64 text.
 */
function x5cEntry(b64: string): Buffer {
  const once = Buffer.from(b64, 'base64');
  const text = once.toString('latin1').replace(/-----[A-Z0-9 ]+-----/g, '');
  return /^[A-Za-z0-9+/=\s]+$/.test(text) ? Buffer.from(text, 'base64') : once;
}

export function parseOperationUpdate(body: unknown): { cancellationRequested: boolean } {
  const wire = parse(z.object({ cancellation_requested: z.boolean() }), body, 'certificate operation update');
  return { cancellationRequested: wire.cancellation_requested };
}

export interface KeyCreateInput {
  kty: WireKeyType;
  keySize: number | undefined;
  curve: (typeof CURVES)[number] | undefined;
  keyOps: string[] | undefined;
  attributes: AttributesInput;
  tags: Tags | undefined;
}

const keyCreateSchema = z.object({
  kty: z.enum(KEY_TYPES),
  key_size: z.number().int().optional(),
  crv: z.enum(CURVES).optional(),
  public_exponent: z.literal(65537).optional(),
  key_ops: z.array(z.enum(KEY_OPERATIONS)).optional(),
  attributes,
  tags,
});

export function parseKeyCreate(body: unknown): KeyCreateInput {
  const wire = parse(keyCreateSchema, body, 'key create parameters');
  return { kty: wire.kty, keySize: wire.key_size, curve: wire.crv, keyOps: wire.key_ops, attributes: wire.attributes ?? {}, tags: wire.tags };
}

export function parseKeyUpdate(body: unknown): { keyOps: string[] | undefined; attributes: AttributesInput; tags: Tags | undefined } {
  const wire = parse(z.object({ key_ops: z.array(z.enum(KEY_OPERATIONS)).optional(), attributes, tags }), body, 'key update parameters');
  return { keyOps: wire.key_ops, attributes: wire.attributes ?? {}, tags: wire.tags };
}

export function parseRotationPolicy(body: unknown): Pick<KeyRotationPolicy, 'lifetimeActions' | 'expiryTime'> {
  const wire = parse(
    z.object({
      lifetimeActions: z
        .array(
          z.object({
            trigger: z
              .object({ timeAfterCreate: isoDuration.optional(), timeBeforeExpiry: isoDuration.optional() })
              .refine((t) => (t.timeAfterCreate === undefined) !== (t.timeBeforeExpiry === undefined), {
                message: 'needs exactly one of timeAfterCreate and timeBeforeExpiry',
              }),
            action: z.object({
              type: z
                .string()
                .transform((t) => t.toLowerCase())
                .pipe(z.enum(['rotate', 'notify'])),
            }),
          }),
        )
        .optional(),
      attributes: z.object({ expiryTime: isoDuration.optional() }).optional(),
    }),
    body,
    'key rotation policy',
  );
  return {
    lifetimeActions: (wire.lifetimeActions ?? []).map((a) => ({
      action: a.action.type === 'rotate' ? 'Rotate' : 'Notify',
      ...(a.trigger.timeAfterCreate ? { timeAfterCreate: a.trigger.timeAfterCreate } : {}),
      ...(a.trigger.timeBeforeExpiry ? { timeBeforeExpiry: a.trigger.timeBeforeExpiry } : {}),
    })),
    expiryTime: wire.attributes?.expiryTime,
  };
}

/** Key Vault's limit on secret values (25k characters). */
const MAX_SECRET_LENGTH = 25_600;

export function parseSecretSet(body: unknown): { value: string; contentType: string | undefined; attributes: AttributesInput; tags: Tags | undefined } {
  const wire = parse(
    z.object({ value: z.string().max(MAX_SECRET_LENGTH), contentType: z.string().optional(), attributes, tags }),
    body,
    'secret set parameters',
  );
  return { value: wire.value, contentType: wire.contentType, attributes: wire.attributes ?? {}, tags: wire.tags };
}

export function parseSecretUpdate(body: unknown): { contentType: string | undefined; attributes: AttributesInput; tags: Tags | undefined } {
  const wire = parse(z.object({ contentType: z.string().optional(), attributes, tags }), body, 'secret update parameters');
  return { contentType: wire.contentType, attributes: wire.attributes ?? {}, tags: wire.tags };
}

// ---------------------------------------------------------------------------------------------------------------
// Responses

/** What the response mappers need to know of a vault: its URL and its soft-delete retention. */
export interface WireVault {
  /** `https://127.0.0.1:<port>`, no trailing slash. */
  readonly url: string;
  /** Soft-delete retention in days (7..90); Key Vault calls 90 "Recoverable+Purgeable", less "CustomizedRecoverable+Purgeable". */
  readonly recoverableDays: number;
}

export function recoveryOf(vault: WireVault): { recoveryLevel: string; recoverableDays: number } {
  return {
    recoveryLevel: vault.recoverableDays >= 90 ? 'Recoverable+Purgeable' : 'CustomizedRecoverable+Purgeable',
    recoverableDays: vault.recoverableDays,
  };
}

function attributesOut(vault: WireVault, attributes: VersionAttributes): Record<string, unknown> {
  return {
    enabled: attributes.enabled,
    ...(attributes.nbf !== null ? { nbf: attributes.nbf } : {}),
    ...(attributes.exp !== null ? { exp: attributes.exp } : {}),
    created: attributes.created,
    updated: attributes.updated,
    ...recoveryOf(vault),
  };
}

function sansOut(sans: SubjectAlternativeNames): Record<string, readonly string[]> | undefined {
  const out: Record<string, readonly string[]> = {};
  const entries = [
    ['emails', sans.emails],
    ['dns_names', sans.dnsNames],
    ['upns', sans.upns],
    ['uris', sans.uris],
    ['ipAddresses', sans.ipAddresses],
  ] as const;
  for (const [key, values] of entries) if (values?.length) out[key] = values;
  return Object.keys(out).length ? out : undefined;
}

function lifetimeActionOut(action: LifetimeAction): Record<string, unknown> {
  return {
    trigger:
      action.daysBeforeExpiry !== undefined
        ? { days_before_expiry: action.daysBeforeExpiry }
        : { lifetime_percentage: action.lifetimePercentage },
    action: { action_type: action.action },
  };
}

function issuerOut(issuer: CertificatePolicy['issuer']): Record<string, unknown> {
  return {
    name: issuer.name,
    ...(issuer.certificateType !== undefined ? { cty: issuer.certificateType } : {}),
    ...(issuer.certificateTransparency !== undefined ? { cert_transparency: issuer.certificateTransparency } : {}),
  };
}

export function policyOut(vault: WireVault, name: string, policy: CertificatePolicy): Record<string, unknown> {
  return {
    id: `${ids.certificate(vault.url, name)}/policy`,
    key_props: {
      exportable: policy.exportable,
      kty: policy.keyType,
      key_size: policy.keySize,
      reuse_key: policy.reuseKey,
      ...(policy.curve ? { crv: policy.curve } : {}),
    },
    secret_props: { contentType: policy.contentType },
    x509_props: {
      subject: policy.x509.subject,
      sans: sansOut(policy.x509.sans) ?? {},
      ekus: policy.x509.ekus,
      key_usage: policy.x509.keyUsage,
      validity_months: policy.x509.validityMonths,
      basic_constraints: { ca: false },
    },
    lifetime_actions: policy.lifetimeActions.map(lifetimeActionOut),
    issuer: issuerOut(policy.issuer),
    attributes: { enabled: policy.enabled, created: policy.created, updated: policy.updated },
  };
}

/** The `pending` link a certificate carries while it has an operation (until the operation is deleted). */
function pendingLink(vault: WireVault, record: CertificateRecord): Record<string, unknown> {
  return record.operation ? { pending: { id: `${ids.certificate(vault.url, record.name)}/pending` } } : {};
}

/** CertificateBundle of an issued version; `der` is the version's (materialized) certificate. */
export function certificateBundle(vault: WireVault, record: CertificateRecord, version: CertificateVersion, der: Buffer): Record<string, unknown> {
  return {
    id: ids.certificate(vault.url, record.name, version.version),
    kid: ids.key(vault.url, record.name, version.version),
    sid: ids.secret(vault.url, record.name, version.version),
    x5t: thumbprint(der),
    cer: der.toString('base64'),
    attributes: attributesOut(vault, version.attributes),
    tags: version.tags,
    policy: policyOut(vault, record.name, record.policy),
    ...pendingLink(vault, record),
  };
}

/**
 * CertificateBundle of the pending version (BEHAVIOURS.md 3): disabled, validity already set, no kid/sid/x5t/cer
 * (nothing is issued yet), and the `pending` link.
 */
export function pendingCertificateBundle(vault: WireVault, record: CertificateRecord, operation: CertificateOperation): Record<string, unknown> {
  return {
    id: ids.certificate(vault.url, record.name, operation.version),
    attributes: pendingAttributes(vault, operation),
    tags: operation.tags,
    policy: policyOut(vault, record.name, record.policy),
    ...pendingLink(vault, record),
  };
}

/** Attributes of a pending version: nbf 10 minutes before its creation, exp after the policy's validity. */
function pendingAttributes(vault: WireVault, operation: CertificateOperation): Record<string, unknown> {
  const created = new Date(operation.created * 1000);
  return {
    enabled: false,
    nbf: operation.created - 600,
    exp: Math.floor(addMonths(created, operation.policy.x509.validityMonths).getTime() / 1000),
    created: operation.created,
    updated: operation.updated,
    ...recoveryOf(vault),
  };
}

export function certificateItem(vault: WireVault, name: string, version: CertificateVersion, der: Buffer, withVersion: boolean): Record<string, unknown> {
  return {
    id: ids.certificate(vault.url, name, withVersion ? version.version : undefined),
    x5t: thumbprint(der),
    attributes: attributesOut(vault, version.attributes),
    tags: version.tags,
  };
}

export function pendingCertificateItem(vault: WireVault, name: string, operation: CertificateOperation): Record<string, unknown> {
  return {
    id: ids.certificate(vault.url, name),
    attributes: pendingAttributes(vault, operation),
    tags: operation.tags,
  };
}

export function operationOut(vault: WireVault, name: string, operation: CertificateOperation): Record<string, unknown> {
  return {
    id: `${ids.certificate(vault.url, name)}/pending`,
    // The operation names its issuer without cert_transparency (the policy keeps it; BEHAVIOURS.md 7).
    issuer: { name: operation.policy.issuer.name, ...(operation.policy.issuer.certificateType !== undefined ? { cty: operation.policy.issuer.certificateType } : {}) },
    csr: operation.csr.toString('base64'),
    cancellation_requested: operation.cancellationRequested,
    status: operation.status,
    ...(operation.status === 'completed' ? {} : { status_details: operation.statusDetails }),
    ...(operation.error ? { error: operation.error } : {}),
    ...(operation.status === 'completed' ? { target: ids.certificate(vault.url, name) } : {}),
    request_id: operation.requestId,
  };
}

function jwkOut(vault: WireVault, name: string, version: KeyVersion): Record<string, unknown> {
  const { kty: _family, ...publicParts } = version.material.publicJwk;
  return { kid: ids.key(vault.url, name, version.version), kty: version.kty, key_ops: version.keyOps, ...publicParts };
}

/** Key attributes: the common ones plus `exportable`, `hsmPlatform` and, for RSA, `key_size` (BEHAVIOURS.md 16). */
function keyAttributesOut(vault: WireVault, version: KeyVersion): Record<string, unknown> {
  const { shape } = version.material;
  return {
    ...attributesOut(vault, version.attributes),
    ...(shape.kind === 'RSA' ? { key_size: shape.size } : {}),
    exportable: false,
    hsmPlatform: version.kty.endsWith('-HSM') ? '2' : '0',
  };
}

export function keyBundle(vault: WireVault, record: KeyRecord, version: KeyVersion): Record<string, unknown> {
  return {
    key: jwkOut(vault, record.name, version),
    attributes: keyAttributesOut(vault, version),
    tags: version.tags,
    ...(record.managed ? { managed: true } : {}),
  };
}

export function keyItem(vault: WireVault, record: KeyRecord, version: KeyVersion, withVersion: boolean): Record<string, unknown> {
  return {
    kid: ids.key(vault.url, record.name, withVersion ? version.version : undefined),
    attributes: keyAttributesOut(vault, version),
    tags: version.tags,
    ...(record.managed ? { managed: true } : {}),
  };
}

/** Key Vault's answer for a key without a rotation policy: notify 30 days before expiry. */
export const DEFAULT_ROTATION_ACTIONS: KeyRotationPolicy['lifetimeActions'] = [{ action: 'Notify', timeBeforeExpiry: 'P30D' }];

/**
 * A key's rotation policy. A key that never had one answers Key Vault's default, without id and with `attributes`
 * null (BEHAVIOURS.md 15).
 */
export function rotationPolicyOut(vault: WireVault, name: string, policy: KeyRotationPolicy | undefined): Record<string, unknown> {
  const actions = (policy?.lifetimeActions ?? DEFAULT_ROTATION_ACTIONS).map(({ action, ...trigger }) => ({ trigger, action: { type: action } }));
  if (!policy) return { lifetimeActions: actions, attributes: null };
  return {
    id: `${ids.key(vault.url, name)}/rotationpolicy`,
    lifetimeActions: actions,
    attributes: { ...(policy.expiryTime ? { expiryTime: policy.expiryTime } : {}), created: policy.created, updated: policy.updated },
  };
}

export function secretBundle(vault: WireVault, record: SecretRecord, version: SecretVersion, value: string | undefined): Record<string, unknown> {
  return {
    ...(value !== undefined ? { value } : {}),
    id: ids.secret(vault.url, record.name, version.version),
    contentType: version.contentType,
    attributes: attributesOut(vault, version.attributes),
    tags: version.tags,
    ...(record.managed ? { kid: ids.key(vault.url, record.name, version.version), managed: true } : {}),
  };
}

export function secretItem(vault: WireVault, record: SecretRecord, version: SecretVersion, withVersion: boolean): Record<string, unknown> {
  return {
    id: ids.secret(vault.url, record.name, withVersion ? version.version : undefined),
    attributes: attributesOut(vault, version.attributes),
    tags: version.tags,
    contentType: version.contentType,
    ...(record.managed ? { managed: true } : {}),
  };
}

/** DeletedKeyBundle: the current version's bundle plus recoveryId, deletedDate and scheduledPurgeDate. */
export function deletedKeyBundle(vault: WireVault, entry: DeletedRecord<KeyRecord>): Record<string, unknown> {
  const version = entry.record.versions.at(-1) as KeyVersion;
  return { ...deletedProperties(vault, 'deletedkeys', entry), ...keyBundle(vault, entry.record, version) };
}

export function deletedKeyItem(vault: WireVault, entry: DeletedRecord<KeyRecord>): Record<string, unknown> | undefined {
  const version = entry.record.versions.at(-1);
  return version && { ...deletedProperties(vault, 'deletedkeys', entry), ...keyItem(vault, entry.record, version, false) };
}

export function deletedSecretBundle(vault: WireVault, entry: DeletedRecord<SecretRecord>): Record<string, unknown> {
  const version = entry.record.versions.at(-1) as SecretVersion;
  return { ...deletedProperties(vault, 'deletedsecrets', entry), ...secretBundle(vault, entry.record, version, undefined) };
}

export function deletedSecretItem(vault: WireVault, entry: DeletedRecord<SecretRecord>): Record<string, unknown> | undefined {
  const version = entry.record.versions.at(-1);
  return version && { ...deletedProperties(vault, 'deletedsecrets', entry), ...secretItem(vault, entry.record, version, false) };
}

function deletedProperties(vault: WireVault, collection: string, entry: DeletedRecord<{ readonly name: string }>): Record<string, unknown> {
  return {
    recoveryId: `${vault.url}/${collection}/${entry.name}`,
    deletedDate: entry.deletedDate,
    scheduledPurgeDate: entry.scheduledPurgeDate,
  };
}

export function listResult(items: unknown[], next: string | undefined): Record<string, unknown> {
  return { value: items, nextLink: next ?? null };
}
