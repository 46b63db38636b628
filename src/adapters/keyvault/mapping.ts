/**
 * Key Vault wire models (as the SDK clients return them) → Rotor's domain models. The only place that knows the
 * SDK's shapes. Secret values are dropped here, the moment a response arrives.
 */
import type { CertificatePolicy, CertificateProperties, KeyVaultCertificateWithPolicy } from '@azure/keyvault-certificates';
import type { KeyProperties, KeyVaultKey } from '@azure/keyvault-keys';
import type { KeyVaultSecret, SecretProperties } from '@azure/keyvault-secrets';
import type { KeyRotationPolicy } from '@azure/keyvault-keys';
import { parseIsoDuration } from '../../core/duration.js';
import type { CertificatePolicyModel, KeyVaultRenewal, ObjectSnapshot, ObjectVersion } from '../../core/model.js';

export const thumbprintHex = (bytes: Uint8Array | undefined): string | undefined =>
  bytes && bytes.length ? Buffer.from(bytes).toString('hex').toUpperCase() : undefined;

const tagsOf = (tags: Record<string, string> | undefined): Record<string, string> => ({ ...(tags ?? {}) });

export function certificateSnapshot(vault: string, p: CertificateProperties): ObjectSnapshot {
  return {
    vault,
    type: 'certificate',
    name: p.name ?? '',
    version: p.version,
    enabled: p.enabled ?? true,
    notBefore: p.notBefore,
    expiresOn: p.expiresOn,
    createdOn: p.createdOn,
    updatedOn: p.updatedOn,
    tags: tagsOf(p.tags),
    thumbprint: thumbprintHex(p.x509Thumbprint),
  };
}

export function certificateVersion(vault: string, c: KeyVaultCertificateWithPolicy | { properties: CertificateProperties; secretId?: string; id?: string; name: string }): ObjectVersion {
  return {
    ...certificateSnapshot(vault, c.properties),
    name: c.name,
    version: c.properties.version ?? '',
    id: c.properties.id ?? c.id ?? '',
    secretId: c.secretId,
  };
}

export function certificatePolicy(p: CertificatePolicy): CertificatePolicyModel {
  return {
    issuerName: p.issuerName ?? 'Unknown',
    subject: p.subject,
    keyType: p.keyType,
    keySize: p.keySize,
    curve: p.keyCurveName,
    exportable: p.exportable,
    reuseKey: p.reuseKey,
    keyUsage: [...(p.keyUsage ?? [])],
    enhancedKeyUsage: [...(p.enhancedKeyUsage ?? [])],
    validityInMonths: p.validityInMonths,
    contentType: p.contentType,
    renewal: certificateRenewal(p),
    raw: p,
  };
}

/**
 * The policy's AutoRenew lifetime action (Key Vault renews the certificate itself), if any. With the issuer `Unknown`
 * Key Vault cannot issue the renewed certificate itself (someone must merge a CA-signed one), so AutoRenew renews
 * nothing and the certificate stays Rotor's to report.
 */
function certificateRenewal(p: CertificatePolicy): KeyVaultRenewal | undefined {
  if ((p.issuerName ?? 'Unknown').toLowerCase() === 'unknown') return undefined;
  const auto = (p.lifetimeActions ?? []).find((a) => a.action?.toLowerCase() === 'autorenew');
  return auto ? { action: 'AutoRenew', lifetimePercentage: auto.lifetimePercentage, daysBeforeExpiry: auto.daysBeforeExpiry } : undefined;
}

const isoMs = (text: string | undefined): number | undefined => {
  if (!text) return undefined;
  const parsed = parseIsoDuration(text);
  return parsed.ok ? parsed.value : undefined;
};

/** The key rotation policy's Rotate action (Key Vault rotates the key itself), if any. */
export function keyRenewal(p: KeyRotationPolicy | undefined): KeyVaultRenewal | undefined {
  const rotate = (p?.lifetimeActions ?? []).find((a) => a.action.toLowerCase() === 'rotate');
  return rotate ? { action: 'Rotate', afterCreateMs: isoMs(rotate.timeAfterCreate), beforeExpiryMs: isoMs(rotate.timeBeforeExpiry) } : undefined;
}

export function keySnapshot(vault: string, p: KeyProperties): ObjectSnapshot {
  return {
    vault,
    type: 'key',
    name: p.name,
    version: p.version,
    enabled: p.enabled ?? true,
    notBefore: p.notBefore,
    expiresOn: p.expiresOn,
    createdOn: p.createdOn,
    updatedOn: p.updatedOn,
    tags: tagsOf(p.tags),
    managed: p.managed,
  };
}

/** RSA modulus length in bits (leading zero bytes do not count). */
function modulusBits(n: Uint8Array | undefined): number | undefined {
  if (!n?.length) return undefined;
  let i = 0;
  while (i < n.length - 1 && n[i] === 0) i++;
  return (n.length - i) * 8;
}

export function keyVersion(vault: string, k: KeyVaultKey): ObjectVersion {
  return {
    ...keySnapshot(vault, k.properties),
    version: k.properties.version ?? '',
    id: k.id ?? k.properties.id ?? '',
    keyType: k.keyType ?? k.key?.kty,
    keySize: modulusBits(k.key?.n),
    curve: k.key?.crv,
    keyOps: k.keyOperations ? [...k.keyOperations] : undefined,
  };
}

export function secretSnapshot(vault: string, p: SecretProperties): ObjectSnapshot {
  return {
    vault,
    type: 'secret',
    name: p.name,
    version: p.version,
    enabled: p.enabled ?? true,
    notBefore: p.notBefore,
    expiresOn: p.expiresOn,
    createdOn: p.createdOn,
    updatedOn: p.updatedOn,
    tags: tagsOf(p.tags),
    managed: p.managed,
    contentType: p.contentType,
  };
}

/** Drops the value: only the properties of a secret travel further. */
export function secretVersion(vault: string, s: KeyVaultSecret): ObjectVersion {
  return { ...secretSnapshot(vault, s.properties), version: s.properties.version ?? '', id: s.properties.id ?? '' };
}
