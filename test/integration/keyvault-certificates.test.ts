/**
 * The official CertificateClient (and SecretClient for the certificate's secret) against the local Key Vault
 * endpoint: create and poll, issued X.509 matching the policy, pending operations and merge, import, policy and
 * property updates, paging, errors.
 */
import { createHash, generateKeyPairSync, X509Certificate as NodeX509 } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import type { CertificatePolicy } from '@azure/keyvault-certificates';
import forge from 'node-forge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeyVaultClients } from '../../src/adapters/azure-clients.js';
import type { LocalStack } from '../../src/local/stack.js';
import { clientsFor, rawRequest, startKeyVaultStack, testClock } from './helpers/keyvault.js';

const clock = testClock('2026-03-01T12:00:00Z');
let stack: LocalStack;
let kv: KeyVaultClients;

beforeAll(async () => {
  // Long enough that a Self-issued create is reliably seen in progress first.
  stack = await startKeyVaultStack({ pendingDelayMs: 500 }, { now: clock.now });
  kv = clientsFor(stack);
});
afterAll(async () => {
  await stack?.stop();
});

const poll = { intervalInMs: 20 };

async function operationOf(name: string) {
  return (await kv.certificates.getCertificateOperation(name, poll)).getOperationState().certificateOperation;
}

/** The certificates (leaf first) in a password-less PFX, as DER. */
function pfxCertificates(base64: string): Buffer[] {
  const p12 = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(forge.util.decode64(base64)), '');
  const bags = p12.getBags({ bagType: forge.pki.oids.certBag })[forge.pki.oids.certBag as string] ?? [];
  return bags.map((bag) => {
    const asn1 = bag.cert ? forge.pki.certificateToAsn1(bag.cert) : (bag as unknown as { asn1: forge.asn1.Asn1 }).asn1;
    return Buffer.from(forge.asn1.toDer(asn1).getBytes(), 'binary');
  });
}

function pfxHasKey(base64: string): boolean {
  const p12 = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(forge.util.decode64(base64)), '');
  return (p12.getBags({ bagType: forge.pki.oids.keyBag })[forge.pki.oids.keyBag as string] ?? []).length > 0;
}

describe('create', () => {
  it('issues a real self-signed certificate made from the policy, with x5t = SHA-1 of cer', async () => {
    const policy: CertificatePolicy = {
      issuerName: 'Self',
      subject: 'CN=head.hpc.contoso.com, O=Contoso HPC',
      subjectAlternativeNames: { dnsNames: ['head.hpc.contoso.com', 'head'] },
      keyType: 'RSA',
      keySize: 3072,
      keyUsage: ['digitalSignature', 'keyEncipherment', 'keyAgreement', 'keyCertSign'],
      enhancedKeyUsage: ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2'],
      validityInMonths: 6,
      exportable: true,
      contentType: 'application/x-pkcs12',
    };
    const poller = await kv.certificates.beginCreateCertificate('hpc-head', policy, { ...poll, tags: { owner: 'hpc' } });
    expect((await operationOf('hpc-head'))?.status).toBe('inProgress');
    const certificate = await poller.pollUntilDone();
    expect((await operationOf('hpc-head'))?.status).toBe('completed');

    expect(certificate.properties.version).toMatch(/^[0-9a-f]{32}$/);
    expect(certificate.keyId).toBe(`${stack.keyVault.vaultUrl('rotor-local')}/keys/hpc-head/${certificate.properties.version}`);
    expect(certificate.secretId).toBe(`${stack.keyVault.vaultUrl('rotor-local')}/secrets/hpc-head/${certificate.properties.version}`);
    const cer = Buffer.from(certificate.cer as Uint8Array);
    expect(Buffer.from(certificate.properties.x509Thumbprint as Uint8Array)).toEqual(createHash('sha1').update(cer).digest());
    expect(certificate.properties.tags).toEqual({ owner: 'hpc' });
    // Key Vault backdates notBefore by 10 minutes.
    expect(certificate.properties.notBefore).toEqual(new Date(clock.now().getTime() - 10 * 60_000));
    expect(certificate.properties.expiresOn).toEqual(new Date('2026-09-01T12:00:00Z'));

    const parsed = new x509.X509Certificate(cer);
    expect(parsed.subject).toBe('CN=head.hpc.contoso.com, O=Contoso HPC');
    expect(parsed.issuer).toBe(parsed.subject);
    expect(await parsed.verify({ signatureOnly: true })).toBe(true);
    expect(parsed.notAfter).toEqual(certificate.properties.expiresOn);
    const usages = parsed.getExtension(x509.KeyUsagesExtension)?.usages ?? 0;
    const F = x509.KeyUsageFlags;
    expect(usages).toBe(F.digitalSignature | F.keyEncipherment | F.keyAgreement | F.keyCertSign);
    expect(parsed.getExtension(x509.ExtendedKeyUsageExtension)?.usages).toEqual(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
    const sans = parsed.getExtension(x509.SubjectAlternativeNameExtension)?.names.items.map((n) => n.value);
    expect(sans).toEqual(['head.hpc.contoso.com', 'head']);
    expect(new NodeX509(cer).publicKey.asymmetricKeyDetails?.modulusLength).toBe(3072);

    expect(certificate.policy).toMatchObject({ issuerName: 'Self', keySize: 3072, validityInMonths: 6, keyType: 'RSA' });
  });

  it('issues EC certificates on the requested curve and serves them as PEM when the policy says so', async () => {
    const poller = await kv.certificates.beginCreateCertificate(
      'ec-cert',
      { issuerName: 'Self', subject: 'CN=ec.example', keyType: 'EC', keyCurveName: 'P-384', contentType: 'application/x-pem-file' },
      poll,
    );
    const certificate = await poller.pollUntilDone();
    const cer = Buffer.from(certificate.cer as Uint8Array);
    expect(new NodeX509(cer).publicKey.asymmetricKeyDetails?.namedCurve).toBe('secp384r1');
    const secret = await kv.secrets.getSecret('ec-cert');
    expect(secret.properties.contentType).toBe('application/x-pem-file');
    expect(secret.value).toContain('-----BEGIN PRIVATE KEY-----');
    expect(new NodeX509(secret.value as string).raw).toEqual(cer);
  });

  it('creates the managed key and the secret whose value is a PFX holding the certificate', async () => {
    const certificate = await kv.certificates.getCertificate('hpc-head');
    const secret = await kv.secrets.getSecret('hpc-head', { version: certificate.properties.version as string });
    expect(secret.properties.managed).toBe(true);
    expect(secret.properties.contentType).toBe('application/x-pkcs12');
    expect(secret.properties.certificateKeyId).toBe(certificate.keyId);
    expect(pfxCertificates(secret.value as string)[0]).toEqual(Buffer.from(certificate.cer as Uint8Array));
    expect(pfxHasKey(secret.value as string)).toBe(true);

    const key = await kv.keys.getKey('hpc-head');
    expect(key.properties.managed).toBe(true);
    expect(key.id).toBe(certificate.keyId);
    expect(key.key?.n?.length).toBe(384);
  });

  it('answers 409 Conflict to a create while an operation is pending, which only a merge completes for non-Self issuers', async () => {
    const ca = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: '01',
      name: 'CN=Test Issuing CA',
      notBefore: new Date('2026-01-01T00:00:00Z'),
      notAfter: new Date('2030-01-01T00:00:00Z'),
      keys: await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']),
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    });
    const caKeys = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);

    const poller = await kv.certificates.beginCreateCertificate('ca-issued', { issuerName: 'Unknown', subject: 'CN=ca-issued.example' }, poll);
    await poller.poll();
    const pending = await operationOf('ca-issued');
    expect(pending?.status).toBe('inProgress');
    expect(pending?.statusDetails).toMatch(/merge/i);
    await expect(kv.certificates.beginCreateCertificate('ca-issued', { issuerName: 'Unknown', subject: 'CN=x' }, poll)).rejects.toMatchObject({
      statusCode: 409,
    });

    const csr = new x509.Pkcs10CertificateRequest(pending!.csr!);
    expect(csr.subject).toBe('CN=ca-issued.example');
    const issued = await x509.X509CertificateGenerator.create({
      serialNumber: '02',
      subject: csr.subject,
      issuer: ca.subject,
      notBefore: new Date('2026-03-01T00:00:00Z'),
      notAfter: new Date('2027-03-01T00:00:00Z'),
      publicKey: csr.publicKey,
      signingKey: caKeys.privateKey,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    });
    const merged = await kv.certificates.mergeCertificate('ca-issued', [new Uint8Array(issued.rawData), new Uint8Array(ca.rawData)]);
    expect(Buffer.from(merged.cer as Uint8Array)).toEqual(Buffer.from(issued.rawData));
    expect(merged.properties.expiresOn).toEqual(new Date('2027-03-01T00:00:00Z'));
    expect((await operationOf('ca-issued'))?.status).toBe('completed');
    const chain = pfxCertificates((await kv.secrets.getSecret('ca-issued')).value as string);
    expect(chain.map((der) => der.length)).toEqual([issued.rawData.byteLength, ca.rawData.byteLength]);
  });

  it('keeps a create pending under a policy whose issuer is Unknown', async () => {
    await kv.certificates.updateCertificatePolicy('hpc-head', {
      ...(await kv.certificates.getCertificatePolicy('hpc-head')),
      issuerName: 'Unknown',
    });
    await kv.certificates.beginCreateCertificate('hpc-head', await kv.certificates.getCertificatePolicy('hpc-head'), poll);
    await new Promise((resolve) => setTimeout(resolve, 600));
    const pending = await operationOf('hpc-head');
    expect(pending).toMatchObject({ status: 'inProgress', issuerName: 'Unknown' });
    expect(pending?.csr?.length).toBeGreaterThan(100);
    // A cancellation is only a request: the operation stays inProgress with cancellation_requested, and the issuer
    // (here: after pendingDelayMs) then cancels it.
    const cancel = await rawRequest(stack, 'PATCH', 'certificates/hpc-head/pending?api-version=2025-07-01', {
      token: stack.token,
      body: { cancellation_requested: true },
    });
    expect(cancel.json()).toMatchObject({ status: 'inProgress', cancellation_requested: true });
    const statusNow = async (): Promise<unknown> =>
      (await rawRequest(stack, 'GET', 'certificates/hpc-head/pending?api-version=2025-07-01', { token: stack.token })).json()['status'];
    let status = await statusNow();
    for (let i = 0; i < 100 && status !== 'cancelled'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      status = await statusNow();
    }
    expect(status).toBe('cancelled');
  });
});

describe('import', () => {
  it('imports a password-protected PFX and serves it back through the secret', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const keys = { privateKey: forge.pki.privateKeyFromPem(privateKey.export({ type: 'pkcs1', format: 'pem' }).toString()) };
    const cert = forge.pki.createCertificate();
    cert.publicKey = forge.pki.setRsaPublicKey(keys.privateKey.n, keys.privateKey.e);
    cert.serialNumber = '0a';
    cert.validity.notBefore = new Date('2026-01-01T00:00:00Z');
    cert.validity.notAfter = new Date('2027-01-01T00:00:00Z');
    cert.setSubject([{ name: 'commonName', value: 'imported.example' }]);
    cert.setIssuer(cert.subject.attributes);
    cert.setExtensions([{ name: 'keyUsage', digitalSignature: true, keyEncipherment: true }]);
    cert.sign(keys.privateKey, forge.md.sha256.create());
    const pfx = forge.asn1.toDer(forge.pkcs12.toPkcs12Asn1(keys.privateKey, [cert], 'pw', { algorithm: '3des' })).getBytes();
    const der = Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes(), 'binary');

    const imported = await kv.certificates.importCertificate('imported-pfx', Buffer.from(pfx, 'binary'), { password: 'pw', tags: { source: 'pfx' } });
    expect(Buffer.from(imported.cer as Uint8Array)).toEqual(der);
    expect(imported.properties.expiresOn).toEqual(new Date('2027-01-01T00:00:00Z'));
    expect(imported.properties.tags).toEqual({ source: 'pfx' });
    expect(imported.policy).toMatchObject({ issuerName: 'Unknown', subject: 'CN=imported.example', keyUsage: ['digitalSignature', 'keyEncipherment'] });
    expect(pfxCertificates((await kv.secrets.getSecret('imported-pfx')).value as string)[0]).toEqual(der);
  });

  it('imports PEM (EC key and certificate) and keeps its content type', async () => {
    const keys = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: '0b',
      name: 'CN=pem.example',
      notBefore: new Date('2026-02-01T00:00:00Z'),
      notAfter: new Date('2026-08-01T00:00:00Z'),
      keys,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    });
    const pkcs8 = Buffer.from(await crypto.subtle.exportKey('pkcs8', keys.privateKey)).toString('base64');
    const pem = `-----BEGIN PRIVATE KEY-----\n${pkcs8}\n-----END PRIVATE KEY-----\n${cert.toString('pem')}\n`;

    const imported = await kv.certificates.importCertificate('imported-pem', Buffer.from(pem), { policy: { contentType: 'application/x-pem-file', issuerName: 'Unknown' } });
    expect(Buffer.from(imported.cer as Uint8Array)).toEqual(Buffer.from(cert.rawData));
    expect(imported.policy).toMatchObject({ keyType: 'EC', keyCurveName: 'P-256', contentType: 'application/x-pem-file' });
    const secret = await kv.secrets.getSecret('imported-pem');
    expect(secret.properties.contentType).toBe('application/x-pem-file');
    expect(new NodeX509(secret.value as string).raw).toEqual(Buffer.from(cert.rawData));
  });

  it('rejects an import without a private key with 400 BadParameter', async () => {
    const pem = (await kv.secrets.getSecret('ec-cert')).value?.replace(/-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----\n/, '') ?? '';
    await expect(kv.certificates.importCertificate('no-key', Buffer.from(pem), { policy: { contentType: 'application/x-pem-file' } })).rejects.toMatchObject({
      statusCode: 400,
      code: 'BadParameter',
    });
  });
});

describe('updates', () => {
  it('updates the policy', async () => {
    const policy = await kv.certificates.getCertificatePolicy('ec-cert');
    await kv.certificates.updateCertificatePolicy('ec-cert', { ...policy, validityInMonths: 24, subject: 'CN=ec2.example' });
    expect(await kv.certificates.getCertificatePolicy('ec-cert')).toMatchObject({ validityInMonths: 24, subject: 'CN=ec2.example', keyCurveName: 'P-384' });
  });

  it('updates enabled and tags of a version', async () => {
    const { properties } = await kv.certificates.getCertificate('ec-cert');
    const updated = await kv.certificates.updateCertificateProperties('ec-cert', properties.version as string, { enabled: false, tags: { stage: 'retired' } });
    expect(updated.properties).toMatchObject({ enabled: false, tags: { stage: 'retired' } });
    const version = await kv.certificates.getCertificateVersion('ec-cert', properties.version as string);
    expect(version.properties.enabled).toBe(false);
    expect((await kv.keys.getKey('ec-cert')).properties.enabled).toBe(false);
  });
});

describe('lists', () => {
  it('pages certificates and versions 25 at a time and the SDK follows nextLink to the end', async () => {
    const names = Array.from({ length: 30 }, (_, i) => `paged-${String(i).padStart(2, '0')}`);
    await stack.keyVault.seed({
      vaults: {
        'rotor-local': {
          certificates: [...names.map((name) => ({ name, keyType: 'EC' as const })), { name: 'many-versions', olderVersions: 29, keyType: 'EC' }],
        },
      },
    });
    stack.keyVault.resetCounters();
    const pageSizes: number[] = [];
    const listed: string[] = [];
    for await (const page of kv.certificates.listPropertiesOfCertificates().byPage()) {
      pageSizes.push(page.length);
      for (const item of page) {
        listed.push(item.name as string);
        expect(item.x509Thumbprint?.length).toBe(20);
      }
    }
    expect(listed).toEqual(expect.arrayContaining(names));
    expect(Math.max(...pageSizes)).toBe(25);
    expect(pageSizes.length).toBe(Math.ceil(listed.length / 25));
    expect(stack.keyVault.counters()['certificates.list']).toBe(pageSizes.length);

    const versions: string[] = [];
    const versionPages: number[] = [];
    for await (const page of kv.certificates.listPropertiesOfCertificateVersions('many-versions').byPage()) {
      versionPages.push(page.length);
      versions.push(...page.map((p) => p.version as string));
    }
    expect(versionPages).toEqual([25, 5]);
    expect(new Set(versions).size).toBe(30);
  });
});

describe('errors', () => {
  it('maps 404 bodies to RestError with CertificateNotFound', async () => {
    await expect(kv.certificates.getCertificate('missing')).rejects.toMatchObject({ statusCode: 404, code: 'CertificateNotFound' });
    await expect(kv.certificates.getCertificateVersion('hpc-head', '0'.repeat(32))).rejects.toMatchObject({
      statusCode: 404,
      code: 'CertificateNotFound',
    });
    await expect(kv.certificates.getCertificatePolicy('missing')).rejects.toMatchObject({ statusCode: 404, code: 'CertificateNotFound' });
  });

  it('answers 400 BadParameter to invalid policies', async () => {
    await expect(kv.certificates.beginCreateCertificate('bad', { issuerName: 'Self', subject: 'CN=bad', keySize: 1024 }, poll)).rejects.toMatchObject({
      statusCode: 400,
      code: 'BadParameter',
    });
  });
});
