/**
 * The local stack's certificate authority. Every HTTPS endpoint of the local stack (the Key Vault–compatible
 * endpoint, the ARM endpoints, the HPC Pack head node) presents a certificate issued by this CA, so clients that
 * trust it (via `tlsOptions.ca` or NODE_EXTRA_CA_CERTS) verify TLS exactly as they would against Azure.
 */
import 'reflect-metadata';
import { webcrypto, X509Certificate as NodeX509 } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const EC_ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export interface IssuedServerCert {
  certPem: string;
  keyPem: string;
}

export interface LocalCa {
  /** PEM of the CA certificate: what a client must trust. */
  readonly certPem: string;
  /** Path of a file holding certPem (NODE_EXTRA_CA_CERTS, ROTOR_LOCAL_CA_FILE). */
  readonly certFile: string;
  /** Issues a TLS server certificate for the given DNS names and IP addresses. */
  issueServerCert(hosts: string[]): Promise<IssuedServerCert>;
}

function toPem(der: ArrayBuffer, label: string): string {
  const b64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

function fromPem(pem: string): ArrayBuffer {
  const b64 = pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  const buf = Buffer.from(b64, 'base64');
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
}

function serial(): string {
  // Positive 16-byte serial number.
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return Buffer.from(bytes).toString('hex');
}

const isIp = (h: string): boolean => /^\d+\.\d+\.\d+\.\d+$/.test(h) || h.includes(':');

async function generateCa(): Promise<{ certPem: string; keyPem: string }> {
  const keys = await webcrypto.subtle.generateKey(EC_ALG, true, ['sign', 'verify']);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: 'CN=Rotor Local Stack CA, O=Rotor (local development only)',
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 3650 * 86_400_000),
    signingAlgorithm: EC_ALG,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { certPem: cert.toString('pem') + '\n', keyPem: toPem(pkcs8, 'PRIVATE KEY') };
}

class CertificateAuthority implements LocalCa {
  constructor(
    readonly certPem: string,
    private readonly keyPem: string,
    readonly certFile: string,
  ) {}

  async issueServerCert(hosts: string[]): Promise<IssuedServerCert> {
    const caCert = new x509.X509Certificate(this.certPem);
    const caKey = await webcrypto.subtle.importKey('pkcs8', fromPem(this.keyPem), EC_ALG, false, ['sign']);
    const keys = await webcrypto.subtle.generateKey(EC_ALG, true, ['sign', 'verify']);
    const now = Date.now();
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject: `CN=${hosts[0] ?? 'localhost'}`,
      issuer: caCert.subject,
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + 825 * 86_400_000),
      signingAlgorithm: EC_ALG,
      publicKey: keys.publicKey,
      signingKey: caKey,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension(
          hosts.map((h) => (isIp(h) ? { type: 'ip' as const, value: h } : { type: 'dns' as const, value: h })),
        ),
        await x509.AuthorityKeyIdentifierExtension.create(caCert),
      ],
    });
    const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
    return { certPem: cert.toString('pem') + '\n', keyPem: toPem(pkcs8, 'PRIVATE KEY') };
  }
}

/**
 * Loads the CA kept in `dir` (ca.pem, ca-key.pem), or creates one there. The directory is the stack's state
 * folder for persistent stacks, or a temporary folder for in-memory ones.
 */
export async function loadOrCreateCa(dir: string): Promise<LocalCa> {
  await mkdir(dir, { recursive: true });
  const certFile = join(dir, 'ca.pem');
  const keyFile = join(dir, 'ca-key.pem');
  try {
    const [certPem, keyPem] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
    const parsed = new NodeX509(certPem);
    if (new Date(parsed.validTo).getTime() > Date.now() + 30 * 86_400_000) {
      return new CertificateAuthority(certPem, keyPem, certFile);
    }
  } catch {
    // No CA yet (or unreadable): create one below.
  }
  const { certPem, keyPem } = await generateCa();
  await writeFile(keyFile, keyPem, { mode: 0o600 });
  await writeFile(certFile, certPem);
  return new CertificateAuthority(certPem, keyPem, certFile);
}
