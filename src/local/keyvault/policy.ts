/**
 * Certificate policies: Key Vault's defaults, applying a (partial) policy from a request over a base policy, the
 * policy an imported certificate implies, and the key shape a policy asks for.
 */
import 'reflect-metadata';
import { isIP } from 'node:net';
import * as x509 from '@peculiar/x509';
import { badParameter } from './errors.js';
import type { Curve, KeyShape, RsaSize } from './key-material.js';
import { RSA_SIZES } from './key-material.js';
import type { CertificatePolicy, LifetimeAction, WireKeyType, X509Properties } from './model.js';
import { PKCS12, type CertificateContentType } from './pkcs12.js';
import { monthsBetween } from './time.js';
import { withoutUndefined } from './util.js';
import { canonicalName, type CertificateDescription, type KeyUsage, type SubjectAlternativeNames } from './x509.js';

/** A policy as a request states it: every field optional (wire.ts maps the JSON onto this). */
export interface PolicyInput {
  keyType?: WireKeyType | undefined;
  keySize?: number | undefined;
  curve?: Curve | undefined;
  exportable?: boolean | undefined;
  reuseKey?: boolean | undefined;
  contentType?: CertificateContentType | undefined;
  subject?: string | undefined;
  sans?: SubjectAlternativeNames | undefined;
  keyUsage?: KeyUsage[] | undefined;
  ekus?: string[] | undefined;
  validityMonths?: number | undefined;
  lifetimeActions?: LifetimeAction[] | undefined;
  issuer?: { name?: string | undefined; certificateType?: string | undefined; certificateTransparency?: boolean | undefined } | undefined;
  enabled?: boolean | undefined;
}

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const DEFAULT_RSA_USAGE: readonly KeyUsage[] = Object.freeze(['digitalSignature', 'keyEncipherment'] as KeyUsage[]);
const DEFAULT_EC_USAGE: readonly KeyUsage[] = Object.freeze(['digitalSignature'] as KeyUsage[]);
const DEFAULT_EKUS: readonly string[] = Object.freeze([SERVER_AUTH, CLIENT_AUTH]);
const AUTO_RENEW: readonly LifetimeAction[] = Object.freeze([{ action: 'AutoRenew', lifetimePercentage: 80 } as const]);
const EMAIL_CONTACTS: readonly LifetimeAction[] = Object.freeze([{ action: 'EmailContacts', lifetimePercentage: 80 } as const]);
const NO_SANS: SubjectAlternativeNames = Object.freeze({});
const CURVE_SIZE: Record<Curve, number> = { 'P-256': 256, 'P-384': 384, 'P-521': 521, 'P-256K': 256 };
const CURVE_BY_SIZE: Record<number, Curve> = { 256: 'P-256', 384: 'P-384', 521: 'P-521' };

const isEcKeyType = (keyType: WireKeyType): boolean => keyType === 'EC' || keyType === 'EC-HSM';
export const isSelfIssued = (policy: CertificatePolicy): boolean => policy.issuer.name.toLowerCase() === 'self';

export function keyShapeOf(policy: Pick<CertificatePolicy, 'keyType' | 'keySize' | 'curve'>): KeyShape {
  return isEcKeyType(policy.keyType)
    ? { kind: 'EC', crv: policy.curve ?? 'P-256' }
    : { kind: 'RSA', size: policy.keySize as RsaSize };
}

function validateSubject(subject: string): void {
  try {
    new x509.Name(canonicalName(subject));
  } catch {
    throw badParameter(`policy.x509_props.subject "${subject}" is not a valid X.500 distinguished name.`);
  }
}

function validateSans(sans: SubjectAlternativeNames): void {
  for (const ip of sans.ipAddresses ?? []) {
    if (!isIP(ip)) throw badParameter(`policy.x509_props.sans.ipAddresses: "${ip}" is not an IP address.`);
  }
}

/** The key properties a policy input asks for over `base` (Key Vault's defaults: RSA 2048, curve P-256). */
export function resolveKeyProperties(input: PolicyInput, base: CertificatePolicy | undefined): Pick<CertificatePolicy, 'keyType' | 'keySize' | 'curve'> {
  const keyType = input.keyType ?? (input.curve ? 'EC' : (base?.keyType ?? 'RSA'));
  const sameFamily = base !== undefined && isEcKeyType(base.keyType) === isEcKeyType(keyType);
  if (isEcKeyType(keyType)) {
    const curve = input.curve ?? (input.keySize ? CURVE_BY_SIZE[input.keySize] : undefined) ?? (sameFamily ? base.curve : undefined) ?? 'P-256';
    if (input.keySize && input.keySize !== CURVE_SIZE[curve]) {
      throw badParameter(`policy.key_props.key_size ${input.keySize} does not match curve ${curve}.`);
    }
    return { keyType, keySize: CURVE_SIZE[curve], curve };
  }
  if (input.curve) throw badParameter(`policy.key_props.crv is only valid for EC keys, not ${keyType}.`);
  const keySize = input.keySize ?? (sameFamily ? base.keySize : 2048);
  if (!RSA_SIZES.includes(keySize as RsaSize)) {
    throw badParameter(`policy.key_props.key_size ${keySize} is not supported for ${keyType} (2048, 3072 or 4096).`);
  }
  return { keyType, keySize, curve: undefined };
}

/**
 * Applies a request's policy over `base` (field by field; Key Vault's defaults when there is no base) and checks it.
 * `now` is Unix seconds.
 */
export function applyPolicyInput(base: CertificatePolicy | undefined, input: PolicyInput, now: number): CertificatePolicy {
  const key = resolveKeyProperties(input, base);
  const subject = input.subject ?? base?.x509.subject ?? '';
  const sans = input.sans ?? base?.x509.sans ?? NO_SANS;
  const hasSans = Object.values(sans).some((names: readonly string[] | undefined) => names?.length);
  if (!subject && !hasSans) throw badParameter('policy.x509_props needs a subject or subject alternative names.');
  if (subject) validateSubject(subject);
  validateSans(sans);
  const issuer = { ...(base?.issuer ?? { name: 'Self' }), ...withoutUndefined(input.issuer ?? {}) };
  const familyChanged = base !== undefined && isEcKeyType(base.keyType) !== isEcKeyType(key.keyType);
  const keyUsage =
    input.keyUsage ??
    (base && !familyChanged ? base.x509.keyUsage : isEcKeyType(key.keyType) ? DEFAULT_EC_USAGE : DEFAULT_RSA_USAGE);
  const x509Props: X509Properties = {
    subject,
    sans,
    keyUsage,
    ekus: input.ekus ?? base?.x509.ekus ?? DEFAULT_EKUS,
    validityMonths: input.validityMonths ?? base?.x509.validityMonths ?? 12,
  };
  const unchangedX509 =
    base !== undefined && (Object.keys(x509Props) as (keyof X509Properties)[]).every((k) => x509Props[k] === base.x509[k]);
  return {
    ...key,
    exportable: input.exportable ?? base?.exportable ?? !key.keyType.endsWith('-HSM'),
    reuseKey: input.reuseKey ?? base?.reuseKey ?? false,
    contentType: input.contentType ?? base?.contentType ?? PKCS12,
    x509: unchangedX509 ? base.x509 : x509Props,
    lifetimeActions: input.lifetimeActions ?? base?.lifetimeActions ?? (issuer.name.toLowerCase() === 'self' ? AUTO_RENEW : EMAIL_CONTACTS),
    issuer,
    enabled: input.enabled ?? base?.enabled ?? true,
    created: base?.created ?? now,
    updated: now,
  };
}

/** The policy Key Vault records for an imported certificate: what the certificate says, issuer Unknown. */
export function policyFromCertificate(
  description: CertificateDescription,
  shape: KeyShape,
  contentType: CertificateContentType,
): PolicyInput {
  return {
    keyType: shape.kind,
    keySize: shape.kind === 'RSA' ? shape.size : CURVE_SIZE[shape.crv],
    curve: shape.kind === 'EC' ? shape.crv : undefined,
    exportable: true,
    reuseKey: false,
    contentType,
    subject: description.subject,
    sans: description.sans,
    keyUsage: [...description.keyUsage],
    ekus: [...description.ekus],
    validityMonths: monthsBetween(description.notBefore, description.notAfter),
    lifetimeActions: [...EMAIL_CONTACTS],
    issuer: { name: 'Unknown' },
  };
}
