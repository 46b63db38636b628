/**
 * The secret value of a certificate in Key Vault's two content types, and the parsing of imported certificates:
 * - application/x-pkcs12: a PFX without password (as Key Vault serves it): one unencrypted SafeContents holding the
 *   certificate chain and the PKCS#8 private key, with a SHA-1 MAC. Bags are assembled with node-forge's ASN.1 from
 *   DER, so RSA and EC keys both work. The MAC key derives from the empty password, which OpenSSL, .NET and forge
 *   (given '') all accept.
 * - application/x-pem-file: the PKCS#8 private key, then the certificates, in PEM.
 * Imports accept a base64 PFX (optionally password protected; RSA or EC) or PEM text.
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import forge from 'node-forge';
import { certificateSpki, toPem } from './x509.js';

export type CertificateContentType = 'application/x-pkcs12' | 'application/x-pem-file';
export const PKCS12: CertificateContentType = 'application/x-pkcs12';
export const PEM: CertificateContentType = 'application/x-pem-file';

const { asn1, pki } = forge;
const binary = (buffer: Buffer): string => buffer.toString('binary');
const fromBinary = (bytes: string): Buffer => Buffer.from(bytes, 'binary');
const oid = (name: string): string => asn1.oidToDer(pki.oids[name] as string).getBytes();
const seq = (...items: forge.asn1.Asn1[]): forge.asn1.Asn1 => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, items);
const context0 = (...items: forge.asn1.Asn1[]): forge.asn1.Asn1 => asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, true, items);
const octets = (bytes: string): forge.asn1.Asn1 => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OCTETSTRING, false, bytes);
const oidValue = (name: string): forge.asn1.Asn1 => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, oid(name));

/** A data ContentInfo wrapping DER content. */
const dataContent = (content: forge.asn1.Asn1): forge.asn1.Asn1 =>
  seq(oidValue('data'), context0(octets(asn1.toDer(content).getBytes())));

function localKeyIdAttributes(leafDer: Buffer): forge.asn1.Asn1 {
  const digest = forge.md.sha1.create().update(binary(leafDer)).digest().getBytes();
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SET, true, [
    seq(oidValue('localKeyId'), asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SET, true, [octets(digest)])),
  ]);
}

/** A password-less PFX holding the chain (leaf first) and, when given, the private key. */
export function buildPfx(chain: readonly Buffer[], pkcs8: Buffer | undefined): Buffer {
  const [leaf] = chain;
  if (!leaf) throw new Error('a PFX needs at least one certificate');
  const bags = chain.map((certDer, i) =>
    seq(
      oidValue('certBag'),
      context0(seq(oidValue('x509Certificate'), context0(octets(binary(certDer))))),
      ...(i === 0 ? [localKeyIdAttributes(leaf)] : []),
    ),
  );
  if (pkcs8) bags.push(seq(oidValue('keyBag'), context0(asn1.fromDer(binary(pkcs8))), localKeyIdAttributes(leaf)));
  const authenticatedSafe = seq(dataContent(seq(...bags)));
  const safeDer = asn1.toDer(authenticatedSafe).getBytes();

  const salt = forge.random.getBytesSync(8);
  const iterations = 2048;
  const macKey = forge.pkcs12.generateKey('', forge.util.createBuffer(salt), 3, iterations, 20);
  const hmac = forge.hmac.create();
  hmac.start('sha1', macKey);
  hmac.update(safeDer);
  const macData = seq(
    seq(seq(oidValue('sha1'), asn1.create(asn1.Class.UNIVERSAL, asn1.Type.NULL, false, '')), octets(hmac.digest().getBytes())),
    octets(salt),
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.INTEGER, false, asn1.integerToDer(iterations).getBytes()),
  );
  const pfx = seq(
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.INTEGER, false, asn1.integerToDer(3).getBytes()),
    seq(oidValue('data'), context0(octets(safeDer))),
    macData,
  );
  return fromBinary(asn1.toDer(pfx).getBytes());
}

/** PEM bundle as Key Vault serves it: private key first, then the chain. */
export function buildPemBundle(chain: readonly Buffer[], pkcs8: Buffer | undefined): string {
  const key = pkcs8 ? toPem(pkcs8, 'PRIVATE KEY') : '';
  return key + chain.map((certDer) => toPem(certDer, 'CERTIFICATE')).join('');
}

export interface ParsedCertificateBundle {
  /** Leaf first (the certificate whose public key matches the private key), then the rest. */
  chain: Buffer[];
  privateKey: KeyObject;
  contentType: CertificateContentType;
}

const samePublicKey = (certDer: Buffer, privateKey: KeyObject): boolean =>
  certificateSpki(certDer).equals(createPublicKey(privateKey).export({ type: 'spki', format: 'der' }));

function orderChain(certs: Buffer[], privateKey: KeyObject | undefined, contentType: CertificateContentType): ParsedCertificateBundle {
  if (!certs.length) throw new Error('it contains no certificate');
  if (!privateKey) throw new Error('it contains no private key (Key Vault imports need the private key)');
  const leafIndex = certs.findIndex((certDer) => samePublicKey(certDer, privateKey));
  if (leafIndex < 0) throw new Error('none of its certificates matches its private key');
  const chain = [certs[leafIndex] as Buffer, ...certs.filter((_, i) => i !== leafIndex)];
  return { chain, privateKey, contentType };
}

function readPfx(base64: string, password: string | undefined): forge.pkcs12.Pkcs12Pfx {
  let failure: unknown;
  // Without a password, try the empty password and then the absent one: tools differ in which they MAC with.
  for (const candidate of password === undefined ? ['', undefined] : [password]) {
    try {
      const der = forge.util.decode64(base64.replace(/\s+/g, ''));
      return forge.pkcs12.pkcs12FromAsn1(asn1.fromDer(der), false, candidate as string);
    } catch (err) {
      failure = err;
    }
  }
  throw new Error(`the PFX cannot be read (${String((failure as Error).message).split('\n')[0]}); check the value and the password`);
}

/** Parses a base64 PFX; password may be absent. Throws an Error describing what is wrong. */
export function parsePfx(base64: string, password: string | undefined): ParsedCertificateBundle {
  const p12 = readPfx(base64, password);
  const certs: Buffer[] = [];
  let privateKey: KeyObject | undefined;
  for (const bag of p12.safeContents.flatMap((contents) => contents.safeBags)) {
    // forge leaves bag.cert / bag.key null for types it cannot model (EC) and keeps the ASN.1 instead.
    const raw = (bag as { asn1?: forge.asn1.Asn1 }).asn1;
    if (bag.type === pki.oids['certBag']) {
      const certAsn1 = bag.cert ? pki.certificateToAsn1(bag.cert) : raw;
      if (certAsn1) certs.push(fromBinary(asn1.toDer(certAsn1).getBytes()));
    } else if (bag.type === pki.oids['keyBag'] || bag.type === pki.oids['pkcs8ShroudedKeyBag']) {
      const keyAsn1 = bag.key ? pki.wrapRsaPrivateKey(pki.privateKeyToAsn1(bag.key)) : raw;
      if (keyAsn1) privateKey = createPrivateKey({ key: fromBinary(asn1.toDer(keyAsn1).getBytes()), format: 'der', type: 'pkcs8' });
    }
  }
  return orderChain(certs, privateKey, PKCS12);
}

/** Parses PEM text holding certificates and a private key (PKCS#8, PKCS#1 or SEC1; encrypted with `password`). */
export function parsePem(text: string, password: string | undefined): ParsedCertificateBundle {
  const blocks = [...text.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----[\s\S]+?-----END \1-----/g)];
  const certs = blocks.filter((b) => b[1] === 'CERTIFICATE').map((b) => Buffer.from(b[0].replace(/-----[^-]+-----|\s+/g, ''), 'base64'));
  const keyBlock = blocks.find((b) => b[1]?.endsWith('PRIVATE KEY'));
  let privateKey: KeyObject | undefined;
  if (keyBlock) {
    try {
      privateKey = createPrivateKey({ key: keyBlock[0], format: 'pem', ...(password ? { passphrase: password } : {}) });
    } catch (err) {
      throw new Error(`its private key cannot be read (${(err as Error).message})`);
    }
  }
  return orderChain(certs, privateKey, PEM);
}
