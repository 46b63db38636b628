/**
 * Requirement profiles: what a new version must satisfy for the consumer it serves. Checked before anything is
 * created; a policy that does not comply is refused and audited as PolicyViolation.
 */
import type { CertificatePolicyModel, ObjectVersion } from './model.js';

/**
 * HPC Pack cluster certificate (seed 000): a private key capable of key exchange (an exportable RSA key, since
 * HPC Pack installs the PFX on every node), key usage Digital Signature, Key Encipherment, Key Agreement and
 * Certificate Signing, enhanced key usage Server Authentication and Client Authentication.
 */
export const HPC_PACK_KEY_USAGE = ['digitalSignature', 'keyEncipherment', 'keyAgreement', 'keyCertSign'] as const;
export const HPC_PACK_EKU = ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2'] as const;
const EKU_NAMES: Record<string, string> = { '1.3.6.1.5.5.7.3.1': 'Server Authentication', '1.3.6.1.5.5.7.3.2': 'Client Authentication' };

export function hpcPackPolicyViolations(policy: CertificatePolicyModel): string[] {
  const problems: string[] = [];
  const usage = new Set(policy.keyUsage.map((u) => u.toLowerCase()));
  const missingKu = HPC_PACK_KEY_USAGE.filter((u) => !usage.has(u.toLowerCase()));
  if (missingKu.length) problems.push(`key usage lacks ${missingKu.join(', ')}`);
  const ekus = new Set(policy.enhancedKeyUsage);
  const missingEku = HPC_PACK_EKU.filter((e) => !ekus.has(e));
  if (missingEku.length) problems.push(`enhanced key usage lacks ${missingEku.map((e) => `${EKU_NAMES[e]} (${e})`).join(', ')}`);
  if (!policy.keyType?.toUpperCase().startsWith('RSA')) {
    problems.push(`key type is ${policy.keyType ?? 'unset'}; a key-exchange (RSA) key is required`);
  }
  if (policy.exportable !== true) problems.push('the private key is not exportable (HPC Pack installs the PFX on every node)');
  return problems;
}

/** HPC Cache customer-managed key (seed 002): RSA, 2048 bits, enabled. */
export function hpcCacheKeyViolations(key: Pick<ObjectVersion, 'keyType' | 'keySize' | 'enabled'>): string[] {
  const problems: string[] = [];
  if (!key.keyType?.toUpperCase().startsWith('RSA')) problems.push(`key type is ${key.keyType ?? 'unknown'}; HPC Cache needs RSA`);
  if (key.keySize !== undefined && key.keySize !== 2048) problems.push(`key size is ${key.keySize}; HPC Cache needs 2048`);
  if (!key.enabled) problems.push('the key is disabled; HPC Cache needs an enabled key');
  return problems;
}
