/**
 * HPC-Pack-style node-communication certificates for tests and the demo estate: self-signed RSA 2048 with the key
 * usages and extended key usages HPC Pack requires (seed 000: Digital Signature, Key Encipherment, Key Agreement,
 * Certificate Signing; Client and Server Authentication). No I/O: the caller stores the PEMs where it needs them.
 */
import 'reflect-metadata';
import { createHash, randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const RSA_ALG = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 };

export interface HpcPackCertificateOptions {
  /** Default "CN=HPC Pack Node Communication" (the name CreateHpcKeyVaultCertificate.ps1 suggests). */
  subject?: string;
  notBefore: Date;
  notAfter: Date;
  /** Optional subject alternative names. */
  dnsNames?: string[];
}

export interface HpcPackCertificate {
  certPem: string;
  /** PKCS#8 PEM. Never log it. */
  keyPem: string;
  /** SHA-1 of the DER certificate, upper-case hex (the Windows / Key Vault thumbprint). */
  thumbprint: string;
}

/** SHA-1 thumbprint (upper-case hex) of a PEM or DER certificate. */
export function certificateThumbprint(cert: string | Uint8Array): string {
  const der = typeof cert === 'string' ? new x509.X509Certificate(cert).rawData : cert;
  return createHash('sha1').update(new Uint8Array(der)).digest('hex').toUpperCase();
}

function pem(der: ArrayBuffer, label: string): string {
  const b64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

export async function createHpcPackCertificate(options: HpcPackCertificateOptions): Promise<HpcPackCertificate> {
  if (!(options.notAfter.getTime() > options.notBefore.getTime())) {
    throw new RangeError('notAfter must be later than notBefore');
  }
  const keys = await webcrypto.subtle.generateKey(RSA_ALG, true, ['sign', 'verify']);
  const serial = randomBytes(16);
  serial[0] = (serial[0] ?? 0) & 0x7f;
  const usages =
    x509.KeyUsageFlags.digitalSignature |
    x509.KeyUsageFlags.keyEncipherment |
    x509.KeyUsageFlags.keyAgreement |
    x509.KeyUsageFlags.keyCertSign;
  const extensions: x509.Extension[] = [
    new x509.KeyUsagesExtension(usages, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
  ];
  if (options.dnsNames?.length) {
    extensions.push(new x509.SubjectAlternativeNameExtension(options.dnsNames.map((value) => ({ type: 'dns' as const, value }))));
  }
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial.toString('hex'),
    name: options.subject ?? 'CN=HPC Pack Node Communication',
    notBefore: options.notBefore,
    notAfter: options.notAfter,
    signingAlgorithm: RSA_ALG,
    keys,
    extensions,
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return {
    certPem: `${cert.toString('pem')}\n`,
    keyPem: pem(pkcs8, 'PRIVATE KEY'),
    thumbprint: certificateThumbprint(new Uint8Array(cert.rawData)),
  };
}
