import * as x509 from '@peculiar/x509';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateKeyMaterial, type KeyMaterial } from '../../src/local/keyvault/key-material.js';
import { buildPemBundle, buildPfx, parsePem, parsePfx } from '../../src/local/keyvault/pkcs12.js';
import { buildCertificationRequest, buildSelfSignedCertificate, describeCertificate, KEY_USAGES, type SubjectProfile } from '../../src/local/keyvault/x509.js';

let rsa: KeyMaterial;
let ec: KeyMaterial;
beforeAll(async () => {
  [rsa, ec] = await Promise.all([generateKeyMaterial('rsa', { kind: 'RSA', size: 2048 }), generateKeyMaterial('ec', { kind: 'EC', crv: 'P-256' })]);
});

const profile: SubjectProfile = {
  subject: 'CN=node01.hpc.example, OU=HPC, O=Contoso',
  sans: { dnsNames: ['node01.hpc.example'], ipAddresses: ['10.0.0.4', 'fd00::4'], emails: ['ops@contoso.example'], upns: ['svc@contoso.example'], uris: ['https://hpc.example/'] },
  keyUsage: ['digitalSignature', 'keyEncipherment'],
  ekus: ['1.3.6.1.5.5.7.3.1'],
};
const issue = (p: SubjectProfile, material: KeyMaterial): Buffer =>
  buildSelfSignedCertificate({
    profile: p,
    material,
    serial: Buffer.from('00ff01', 'hex'),
    notBefore: new Date('2026-01-01T00:00:00Z'),
    notAfter: new Date('2051-01-01T00:00:00Z'),
  });

describe('issued certificates', () => {
  it('round-trip every key usage combination through a standard parser', () => {
    for (let mask = 1; mask < 1 << KEY_USAGES.length; mask += 37) {
      const keyUsage = KEY_USAGES.filter((_, bit) => mask & (1 << bit));
      expect(describeCertificate(issue({ ...profile, keyUsage }, ec)).keyUsage).toEqual(keyUsage);
    }
  });

  it('carry subject, SANs, EKUs, validity (GeneralizedTime after 2049) and a valid self-signature', async () => {
    for (const material of [rsa, ec]) {
      const der = issue(profile, material);
      const described = describeCertificate(der);
      expect(described).toMatchObject({ subject: profile.subject, ekus: profile.ekus, keyUsage: profile.keyUsage });
      expect(described.sans).toEqual({ ...profile.sans, ipAddresses: ['10.0.0.4', 'fd00::4'] });
      expect(described.notAfter).toEqual(new Date('2051-01-01T00:00:00Z'));
      expect(described.spki).toEqual(material.spki);
      const cert = new x509.X509Certificate(der);
      expect(await cert.verify({ signatureOnly: true })).toBe(true);
      expect(cert.serialNumber).toBe('ff01');
      expect(cert.getExtension(x509.BasicConstraintsExtension)?.ca).toBe(false);
    }
  });

  it('mark certificates whose key may sign certificates as CAs', () => {
    const cert = new x509.X509Certificate(issue({ ...profile, keyUsage: ['keyCertSign'] }, ec));
    expect(cert.getExtension(x509.BasicConstraintsExtension)?.ca).toBe(true);
  });

  it('build verifiable CSRs', async () => {
    const csr = new x509.Pkcs10CertificateRequest(buildCertificationRequest(profile, rsa));
    expect(csr.subject).toBe(profile.subject);
    expect(await csr.verify()).toBe(true);
    expect(csr.extensions.map((e) => e.type)).toEqual(['2.5.29.19', '2.5.29.15', '2.5.29.37', '2.5.29.17']);
  });
});

describe('PFX and PEM', () => {
  it('round-trip chain and key for RSA and EC', () => {
    for (const material of [rsa, ec]) {
      const leaf = issue(profile, material);
      const other = issue({ ...profile, subject: 'CN=issuer' }, material === rsa ? ec : rsa);
      for (const parsed of [parsePfx(buildPfx([leaf, other], material.pkcs8).toString('base64'), undefined), parsePem(buildPemBundle([other, leaf], material.pkcs8), undefined)]) {
        expect(parsed.chain).toEqual([leaf, other]);
        expect(parsed.privateKey.export({ type: 'pkcs8', format: 'der' })).toEqual(material.pkcs8);
      }
    }
  });

  it('explain what is wrong with an unusable import', () => {
    const leaf = issue(profile, rsa);
    expect(() => parsePem(buildPemBundle([leaf], undefined), undefined)).toThrow('no private key');
    expect(() => parsePem(buildPemBundle([leaf], ec.pkcs8), undefined)).toThrow('matches');
    expect(() => parsePfx('bm90IGEgcGZ4', undefined)).toThrow('PFX cannot be read');
  });
});
