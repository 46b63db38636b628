/**
 * X.509 material of emulated certificates: self-signed certificates and PKCS#10 requests built from a certificate
 * policy (subject, SANs, key usage, EKUs, validity, key), and the description of imported certificates. Encoding is
 * done with the small DER encoder beside this file (so issuing costs about one signature); names are encoded, and
 * imported certificates parsed, with @peculiar/x509.
 */
import 'reflect-metadata';
import { createHash, sign, X509Certificate as NodeX509 } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import * as x509 from '@peculiar/x509';
import * as der from './der.js';
import type { KeyMaterial } from './key-material.js';

export const KEY_USAGES = [
  'digitalSignature',
  'nonRepudiation',
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'keyCertSign',
  'cRLSign',
  'encipherOnly',
  'decipherOnly',
] as const;
export type KeyUsage = (typeof KEY_USAGES)[number];

export interface SubjectAlternativeNames {
  readonly emails?: readonly string[];
  readonly dnsNames?: readonly string[];
  readonly upns?: readonly string[];
  readonly uris?: readonly string[];
  readonly ipAddresses?: readonly string[];
}

/** What a certificate says about its subject: the X.509 part of a Key Vault certificate policy. */
export interface SubjectProfile {
  readonly subject: string;
  readonly sans: SubjectAlternativeNames;
  readonly keyUsage: readonly KeyUsage[];
  readonly ekus: readonly string[];
}

const OID = {
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  subjectKeyIdentifier: '2.5.29.14',
  extensionRequest: '1.2.840.113549.1.9.14',
  upn: '1.3.6.1.4.1.311.20.2.3',
  sha256WithRSA: '1.2.840.113549.1.1.11',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  ecdsaWithSha384: '1.2.840.10045.4.3.3',
  ecdsaWithSha512: '1.2.840.10045.4.3.4',
} as const;

export const thumbprint = (certDer: Buffer): string => createHash('sha1').update(certDer).digest('base64url');

function signatureAlgorithm(material: KeyMaterial): { algorithm: Buffer; hash: string } {
  const { shape } = material;
  if (shape.kind === 'RSA') return { algorithm: der.sequence(der.objectIdentifier(OID.sha256WithRSA), der.nullValue()), hash: 'sha256' };
  const [oid, hash] =
    shape.crv === 'P-384'
      ? [OID.ecdsaWithSha384, 'sha384']
      : shape.crv === 'P-521'
        ? [OID.ecdsaWithSha512, 'sha512']
        : [OID.ecdsaWithSha256, 'sha256'];
  return { algorithm: der.sequence(der.objectIdentifier(oid)), hash };
}

/**
 * A distinguished name with its attribute type keywords in upper case ("cn=MyCert" → "CN=MyCert"): Key Vault accepts
 * them in any case (the recorded traffic creates "cn=MyCert"), @peculiar/x509 only in upper case. Values are untouched.
 */
export function canonicalName(subject: string): string {
  return subject.replace(/(^|[,;+]\s*)([A-Za-z][A-Za-z0-9-]*)(\s*=)/g, (_m, lead: string, type: string, eq: string) => `${lead}${type.toUpperCase()}${eq}`);
}

export function encodeName(subject: string): Buffer {
  return Buffer.from(new x509.Name(canonicalName(subject)).toArrayBuffer());
}

function ipBytes(ip: string): Buffer {
  if (isIPv4(ip)) return Buffer.from(ip.split('.').map(Number));
  if (!isIPv6(ip)) throw new Error(`"${ip}" is not an IP address`);
  const [head = '', tail] = ip.split('::');
  const groups = (part: string): string[] => (part ? part.split(':') : []);
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const zeros = Array.from({ length: 8 - left.length - right.length }, () => '0');
  return Buffer.from([...left, ...zeros, ...right].map((g) => g.padStart(4, '0')).join(''), 'hex');
}

function generalNames(sans: SubjectAlternativeNames): Buffer[] {
  const ia5 = (tag: number, value: string): Buffer => der.implicitPrimitive(tag, Buffer.from(value, 'ascii'));
  return [
    ...(sans.emails ?? []).map((v) => ia5(1, v)),
    ...(sans.dnsNames ?? []).map((v) => ia5(2, v)),
    ...(sans.uris ?? []).map((v) => ia5(6, v)),
    ...(sans.ipAddresses ?? []).map((v) => der.implicitPrimitive(7, ipBytes(v))),
    ...(sans.upns ?? []).map((v) => der.explicit(0, der.objectIdentifier(OID.upn), der.explicit(0, der.utf8String(v)))),
  ];
}

/** KeyUsage BIT STRING: bit 0 (digitalSignature) is the first byte's most significant bit; trailing zeros dropped. */
function keyUsageBits(usages: readonly KeyUsage[]): Buffer {
  const bytes = [0, 0];
  for (const usage of usages) {
    const bit = KEY_USAGES.indexOf(usage);
    bytes[bit >> 3] = (bytes[bit >> 3] ?? 0) | (0x80 >> (bit & 7));
  }
  const used = bytes[1] ? bytes : bytes.slice(0, 1);
  const last = used[used.length - 1] ?? 0;
  let unused = 0;
  while (last && unused < 7 && !(last & (1 << unused))) unused++;
  return der.bitString(Buffer.from(used), unused);
}

function extension(oid: string, critical: boolean, value: Buffer): Buffer {
  return der.sequence(der.objectIdentifier(oid), ...(critical ? [der.boolean(true)] : []), der.octetString(value));
}

function extensions(profile: SubjectProfile, material: KeyMaterial, withKeyId: boolean): Buffer[] {
  const out: Buffer[] = [];
  const isCa = profile.keyUsage.includes('keyCertSign');
  out.push(extension(OID.basicConstraints, isCa, der.sequence(...(isCa ? [der.boolean(true)] : []))));
  if (profile.keyUsage.length) out.push(extension(OID.keyUsage, true, keyUsageBits(profile.keyUsage)));
  if (profile.ekus.length) out.push(extension(OID.extKeyUsage, false, der.sequence(...profile.ekus.map(der.objectIdentifier))));
  const names = generalNames(profile.sans);
  if (names.length) out.push(extension(OID.subjectAltName, !profile.subject, der.sequence(...names)));
  if (withKeyId) {
    // Key identifier: SHA-1 of the SubjectPublicKeyInfo (RFC 7093 allows any unique method).
    out.push(extension(OID.subjectKeyIdentifier, false, der.octetString(createHash('sha1').update(material.spki).digest())));
  }
  return out;
}

function signed(toBeSigned: Buffer, material: KeyMaterial): Buffer {
  const { algorithm, hash } = signatureAlgorithm(material);
  return der.sequence(toBeSigned, algorithm, der.bitString(sign(hash, toBeSigned, material.privateKey)));
}

export interface IssueRequest {
  profile: SubjectProfile;
  material: KeyMaterial;
  /** Positive serial number bytes. */
  serial: Buffer;
  notBefore: Date;
  notAfter: Date;
}

/** A self-signed X.509 v3 certificate (DER). */
export function buildSelfSignedCertificate({ profile, material, serial, notBefore, notAfter }: IssueRequest): Buffer {
  const name = encodeName(profile.subject);
  const { algorithm } = signatureAlgorithm(material);
  const tbs = der.sequence(
    der.explicit(0, der.unsignedInteger(2)),
    der.unsignedInteger(serial),
    algorithm,
    name,
    der.sequence(der.time(notBefore), der.time(notAfter)),
    name,
    material.spki,
    der.explicit(3, der.sequence(...extensions(profile, material, true))),
  );
  return signed(tbs, material);
}

/** A PKCS#10 certificate signing request (DER) asking for the profile's extensions. */
export function buildCertificationRequest(profile: SubjectProfile, material: KeyMaterial): Buffer {
  const extensionRequest = der.sequence(
    der.objectIdentifier(OID.extensionRequest),
    der.set(der.sequence(...extensions(profile, material, false))),
  );
  const info = der.sequence(der.unsignedInteger(0), encodeName(profile.subject), material.spki, der.tlv(0xa0, extensionRequest));
  return signed(info, material);
}

export interface CertificateDescription extends SubjectProfile {
  notBefore: Date;
  notAfter: Date;
  /** SubjectPublicKeyInfo DER, to pair the certificate with its private key. */
  spki: Buffer;
}

const USAGE_FLAGS: ReadonlyArray<[KeyUsage, number]> = KEY_USAGES.map((usage, bit) => [usage, 1 << bit]);

/** Reads what a Key Vault policy needs from a certificate (imports and merges). Throws for non-certificates. */
export function describeCertificate(certDer: Buffer): CertificateDescription {
  const cert = new x509.X509Certificate(certDer);
  const usages = cert.getExtension(x509.KeyUsagesExtension)?.usages ?? 0;
  const ekus = cert.getExtension(x509.ExtendedKeyUsageExtension)?.usages.map(String) ?? [];
  const sanItems = cert.getExtension(x509.SubjectAlternativeNameExtension)?.names.items ?? [];
  const of = (type: string): string[] => sanItems.filter((n) => n.type === type).map((n) => n.value);
  return {
    subject: cert.subject,
    sans: { emails: of('email'), dnsNames: of('dns'), uris: of('url'), ipAddresses: of('ip'), upns: of('upn') },
    keyUsage: USAGE_FLAGS.filter(([, flag]) => usages & flag).map(([usage]) => usage),
    ekus,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    spki: certificateSpki(certDer),
  };
}

/** SubjectPublicKeyInfo DER of a certificate (DER). */
export const certificateSpki = (certDer: Buffer): Buffer =>
  new NodeX509(certDer).publicKey.export({ type: 'spki', format: 'der' });

/** PEM armour of DER bytes (64-character lines). */
export function toPem(derBytes: Buffer, label: string): string {
  const body = derBytes.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;
}
