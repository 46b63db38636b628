/**
 * The bytes of a certificate version: its DER (issued on first use for seeded versions, then kept and persisted)
 * and the value of its managed secret (PFX or PEM, built on each read; the private key only when exportable).
 */
import type { VaultContext } from './context.js';
import type { CertificateVersion } from './model.js';
import { buildPemBundle, buildPfx, PKCS12, type CertificateContentType } from './pkcs12.js';
import { fromUnixSeconds } from './time.js';
import { buildSelfSignedCertificate } from './x509.js';

/** Serial number of a version's certificate: its 16 version bytes, made positive. */
export function serialOf(version: string): Buffer {
  const bytes = Buffer.from(version, 'hex');
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return bytes;
}

export function certificateDer(vault: VaultContext, version: CertificateVersion): Buffer {
  if (!version.der) {
    version.der = buildSelfSignedCertificate({
      profile: version.x509,
      material: version.material,
      serial: serialOf(version.version),
      notBefore: fromUnixSeconds(version.attributes.nbf ?? version.attributes.created),
      notAfter: fromUnixSeconds(version.attributes.exp ?? version.attributes.created),
    });
    // ECDSA signatures differ on each issue: keep what clients have now seen.
    vault.changed();
  }
  return version.der;
}

/** The managed secret's value: base64 PFX or PEM text, as `contentType` (default: the version's) asks. */
export function certificateSecretValue(
  vault: VaultContext,
  version: CertificateVersion,
  contentType: CertificateContentType = version.contentType,
): string {
  const chain = [certificateDer(vault, version), ...(version.chain ?? [])];
  const pkcs8 = version.exportable ? version.material.pkcs8 : undefined;
  return contentType === PKCS12 ? buildPfx(chain, pkcs8).toString('base64') : buildPemBundle(chain, pkcs8);
}
