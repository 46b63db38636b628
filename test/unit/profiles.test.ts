import { describe, expect, it } from 'vitest';
import type { CertificatePolicyModel } from '../../src/core/model.js';
import { hpcCacheKeyViolations, hpcPackPolicyViolations } from '../../src/core/profiles.js';

const compliant: CertificatePolicyModel = {
  issuerName: 'Self',
  keyType: 'RSA',
  keySize: 2048,
  exportable: true,
  keyUsage: ['digitalSignature', 'keyEncipherment', 'keyAgreement', 'keyCertSign'],
  enhancedKeyUsage: ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2'],
  raw: {},
};

describe('HPC Pack certificate requirements (seed 000)', () => {
  it('accepts a compliant policy', () => {
    expect(hpcPackPolicyViolations(compliant)).toEqual([]);
  });
  it('names every missing requirement', () => {
    expect(
      hpcPackPolicyViolations({ ...compliant, keyType: 'EC', exportable: false, keyUsage: ['digitalSignature'], enhancedKeyUsage: ['1.3.6.1.5.5.7.3.1'] }),
    ).toEqual([
      'key usage lacks keyEncipherment, keyAgreement, keyCertSign',
      'enhanced key usage lacks Client Authentication (1.3.6.1.5.5.7.3.2)',
      'key type is EC; a key-exchange (RSA) key is required',
      'the private key is not exportable (HPC Pack installs the PFX on every node)',
    ]);
  });
});

describe('HPC Cache key requirements (seed 002)', () => {
  it('requires RSA 2048 and enabled', () => {
    expect(hpcCacheKeyViolations({ keyType: 'RSA-HSM', keySize: 2048, enabled: true })).toEqual([]);
    expect(hpcCacheKeyViolations({ keyType: 'RSA', keySize: 3072, enabled: false })).toEqual([
      'key size is 3072; HPC Cache needs 2048',
      'the key is disabled; HPC Cache needs an enabled key',
    ]);
  });
});
