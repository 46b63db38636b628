import 'reflect-metadata';
import type { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { describe, expect, it } from 'vitest';
import { certificateThumbprint, createHpcPackCertificate } from '../../../src/local/hpcpack/certs.js';
import { basicAuthMatches } from '../../../src/local/hpcpack/head-node.js';
import { filterNodes, nodeToWire, parseNodeFilter } from '../../../src/local/hpcpack/wire.js';

describe('node filters', () => {
  const nodes = [
    nodeToWire({ name: 'CN001' }),
    nodeToWire({ name: 'CN002', state: 'Offline', health: 'Warning' }),
    nodeToWire({ name: 'LN001', linux: true }),
  ];
  const query = (q: string) => {
    const filter = parseNodeFilter(new URLSearchParams(q));
    if ('error' in filter) throw new Error(filter.error);
    return filterNodes(nodes, filter).map((n) => n.Name);
  };

  it('filters by names (case-insensitively), state, health and group', () => {
    expect(query('')).toEqual(['CN001', 'CN002', 'LN001']);
    expect(query('names=cn002, LN001')).toEqual(['CN002', 'LN001']);
    expect(query('state=offline')).toEqual(['CN002']);
    expect(query('health=OK')).toEqual(['CN001', 'LN001']);
    expect(query('group=linuxnodes')).toEqual(['LN001']);
    expect(query('jobs=1,2')).toEqual([]);
  });

  it('names the bad parameter', () => {
    expect(parseNodeFilter(new URLSearchParams('state=Up'))).toEqual({ error: expect.stringContaining("'state'") });
    expect(parseNodeFilter(new URLSearchParams('health=Fine'))).toEqual({ error: expect.stringContaining("'health'") });
    expect(parseNodeFilter(new URLSearchParams('jobs=a'))).toEqual({ error: expect.stringContaining("'jobs'") });
  });
});

describe('basicAuthMatches', () => {
  const header = (s: string) => `Basic ${Buffer.from(s).toString('base64')}`;
  it('accepts exactly the configured credentials (a password may contain colons)', () => {
    expect(basicAuthMatches(header('admin:pa:ss'), 'admin', 'pa:ss')).toBe(true);
    expect(basicAuthMatches(header('admin:pass'), 'admin', 'pa:ss')).toBe(false);
    expect(basicAuthMatches(header('Admin:pa:ss'), 'admin', 'pa:ss')).toBe(false);
    expect(basicAuthMatches(undefined, 'admin', 'x')).toBe(false);
    expect(basicAuthMatches('Bearer abc', 'admin', 'x')).toBe(false);
    expect(basicAuthMatches(header('nocolon'), 'admin', 'x')).toBe(false);
  });
});

describe('createHpcPackCertificate', () => {
  it('makes a self-signed RSA 2048 certificate with the key usages HPC Pack requires', async () => {
    const notBefore = new Date('2026-01-01T00:00:00Z');
    const notAfter = new Date('2027-01-01T00:00:00Z');
    const made = await createHpcPackCertificate({ notBefore, notAfter, dnsNames: ['cn001'] });
    const cert = new x509.X509Certificate(made.certPem);
    expect(cert.subject).toBe('CN=HPC Pack Node Communication');
    expect(cert.issuer).toBe(cert.subject);
    expect(cert.notBefore).toEqual(notBefore);
    expect(cert.notAfter).toEqual(notAfter);
    expect((cert.publicKey.algorithm as webcrypto.RsaHashedKeyAlgorithm).modulusLength).toBe(2048);
    const ku = cert.getExtension(x509.KeyUsagesExtension);
    const F = x509.KeyUsageFlags;
    expect(ku?.usages).toBe(F.digitalSignature | F.keyEncipherment | F.keyAgreement | F.keyCertSign);
    expect(cert.getExtension(x509.ExtendedKeyUsageExtension)?.usages).toEqual([
      x509.ExtendedKeyUsage.serverAuth,
      x509.ExtendedKeyUsage.clientAuth,
    ]);
    expect(made.thumbprint).toMatch(/^[0-9A-F]{40}$/);
    expect(certificateThumbprint(made.certPem)).toBe(made.thumbprint);
    expect(made.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
  });

  it('rejects a validity that ends before it starts', async () => {
    const at = new Date('2026-01-01T00:00:00Z');
    await expect(createHpcPackCertificate({ notBefore: at, notAfter: at })).rejects.toThrow(/notAfter/);
  });
});
