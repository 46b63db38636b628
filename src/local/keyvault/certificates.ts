/**
 * Certificate operations. As in Key Vault, a create returns a pending operation (202): Self-issued certificates are
 * issued `pendingDelayMs` later; any other issuer ("Unknown" or a CA name) stays pending with its CSR until a merge.
 * Every new certificate version also creates the managed key and secret of the same name and version; only the
 * Certificate event is emitted for it.
 */
import { certificateDer, serialOf } from './certificate-material.js';
import { nowSeconds, objectName, ok, type OperationRequest, type OperationResult, type VaultContext } from './context.js';
import { badParameter, conflict, KeyVaultError, notFound } from './errors.js';
import { generateKeyMaterial, materialFromPrivateKey } from './key-material.js';
import {
  addCertificateVersion,
  currentVersion,
  findVersion,
  newVersionId,
  type CertificateOperation,
  type CertificatePolicy,
  type CertificateRecord,
  type CertificateVersion,
  type Tags,
} from './model.js';
import { namePage, nextLink, parsePageRequest, versionPage } from './paging.js';
import { parsePem, parsePfx, type ParsedCertificateBundle } from './pkcs12.js';
import { applyPolicyInput, isSelfIssued, keyShapeOf, policyFromCertificate, resolveKeyProperties } from './policy.js';
import { keyCreateClass, type OperationClass } from './throttle.js';
import { addMonths, unixSeconds } from './time.js';
import * as wire from './wire.js';
import { buildCertificationRequest, buildSelfSignedCertificate, describeCertificate } from './x509.js';

const STATUS_SELF = 'Pending certificate created. Certificate request is in progress. This may take some time based on the issuer provider. Please check again later.';
const STATUS_MERGE = 'Pending certificate created. Please Perform Merge to complete the request.';

function requireCertificate(vault: VaultContext, name: string): CertificateRecord {
  const record = vault.state.certificates.get(name);
  if (!record || (!record.versions.length && !record.operation)) throw notFound('certificate', name);
  settleOperation(vault, record);
  return record;
}

/** Key Vault asks pollers to come back in 10 s (the SDK's own poller waits 2 s regardless). */
const POLL_RETRY_AFTER = { 'Retry-After': '10' } as const;

const apiVersionOf = (request: OperationRequest): string => request.query.get('api-version') ?? '2025-07-01';

/**
 * Settles an operation whose due time has passed on the emulator's clock: a Self-issued one is issued (a cancellation
 * request does not stop it: Key Vault issues Self-signed certificates itself), another issuer's one with a
 * cancellation request becomes `cancelled`.
 */
export function settleOperation(vault: VaultContext, record: CertificateRecord, force = false): void {
  const { operation } = record;
  if (operation?.status !== 'inProgress' || operation.dueAtMs === undefined) return;
  if (!force && vault.now().getTime() < operation.dueAtMs) return;
  if (isSelfIssued(operation.policy)) issueSelfSigned(vault, record, operation);
  else if (operation.cancellationRequested) {
    operation.status = 'cancelled';
    operation.statusDetails = 'The certificate request was cancelled.';
    operation.error = { code: 'Canceled', message: 'The certificate request was cancelled.' };
    vault.changed();
  }
}

/** Settles the operation after pendingDelayMs of real time too, unless only the emulator's clock settles operations. */
function scheduleSettle(vault: VaultContext, record: CertificateRecord, operation: CertificateOperation): void {
  if (!vault.pendingTimers) return;
  vault.schedule(vault.pendingDelayMs, () => {
    if (record.operation === operation) settleOperation(vault, record, true);
  });
}

function requireOperation(vault: VaultContext, name: string): { record: CertificateRecord; operation: CertificateOperation } {
  const record = requireCertificate(vault, name);
  if (!record.operation) {
    throw new KeyVaultError(404, 'PendingCertificateNotFound', `Pending certificate not found: ${name}`);
  }
  return { record, operation: record.operation };
}

/** Key Vault reserves a certificate's name for its managed key and secret. */
function assertNameFree(vault: VaultContext, name: string): void {
  const key = vault.state.keys.get(name);
  const secret = vault.state.secrets.get(name);
  if ((key && !key.managed) || (secret && !secret.managed)) {
    throw conflict(`A ${key && !key.managed ? 'key' : 'secret'} named ${name} exists; a certificate cannot use its name.`);
  }
}

const inProgress = (record: CertificateRecord | undefined): boolean => record?.operation?.status === 'inProgress';

function bundle(vault: VaultContext, record: CertificateRecord, version: CertificateVersion): OperationResult {
  return ok(wire.certificateBundle(vault, record, version, certificateDer(vault, version)));
}

/** While an operation is in progress, Key Vault's current version of the certificate is the pending one. */
function pendingBundle(vault: VaultContext, record: CertificateRecord, operation: CertificateOperation): OperationResult {
  return ok(wire.pendingCertificateBundle(vault, record, operation));
}

/** Throttling class of a create: a key create of the certificate's key type (RSA-2048 for invalid bodies). */
export function createCost(vault: VaultContext, request: OperationRequest): OperationClass[] {
  let key: Pick<CertificatePolicy, 'keyType' | 'keySize' | 'curve'> | undefined = vault.state.certificates.get(request.params.name)?.policy;
  try {
    const input = wire.parseCertificateParameters(request.body).policy;
    if (input) key = resolveKeyProperties(input, undefined);
  } catch {
    // The handler reports the invalid body.
  }
  return [keyCreateClass(keyShapeOf(key ?? resolveKeyProperties({}, undefined)))];
}

/**
 * Starts a certificate operation under `policy` (a create request, or Key Vault's own AutoRenew): generates (or, with
 * reuse_key, reuses) the key, and the pending version; Self-issued operations settle after pendingDelayMs.
 */
export async function startOperation(
  vault: VaultContext,
  name: string,
  policy: CertificatePolicy,
  pending: { enabled: boolean; tags: Tags | undefined },
): Promise<{ record: CertificateRecord; operation: CertificateOperation }> {
  const { generatingCertificateKeys: generating } = vault.state;
  const existing = vault.state.certificates.get(name);
  generating.add(name.toLowerCase());
  let material;
  try {
    const current = existing && currentVersion(existing);
    material = policy.reuseKey && current ? current.material : await generateKeyMaterial(newVersionId(), keyShapeOf(policy));
  } finally {
    generating.delete(name.toLowerCase());
  }
  const now = nowSeconds(vault);
  const record = vault.state.certificates.get(name) ?? vault.state.certificates.add({ name, policy, versions: [], operation: undefined });
  record.policy = policy;
  const self = isSelfIssued(policy);
  const operation: CertificateOperation = {
    updated: now,
    dueAtMs: self ? vault.now().getTime() + vault.pendingDelayMs : undefined,
    requestId: newVersionId(),
    version: newVersionId(),
    status: 'inProgress',
    statusDetails: self ? STATUS_SELF : STATUS_MERGE,
    cancellationRequested: false,
    error: undefined,
    policy,
    csr: buildCertificationRequest(policy.x509, material),
    material,
    enabled: pending.enabled,
    tags: pending.tags,
    created: now,
  };
  record.operation = operation;
  if (self) scheduleSettle(vault, record, operation);
  vault.changed();
  return { record, operation };
}

export async function createCertificate(vault: VaultContext, request: OperationRequest): Promise<OperationResult> {
  const name = objectName(request);
  const input = wire.parseCertificateParameters(request.body);
  const existing = vault.state.certificates.get(name);
  const { generatingCertificateKeys: generating } = vault.state;
  if (inProgress(existing) || generating.has(name.toLowerCase())) {
    throw conflict(`A certificate operation for ${name} is already in progress; wait for it, cancel it or delete it.`);
  }
  assertNameFree(vault, name);
  const now = nowSeconds(vault);
  const basePolicy = existing?.policy;
  if (!input.policy && !basePolicy) throw badParameter(`The certificate ${name} does not exist yet: its create request needs a policy.`);
  const policy = input.policy ? applyPolicyInput(undefined, input.policy, now) : (basePolicy as CertificatePolicy);

  const { record, operation } = await startOperation(vault, name, policy, { enabled: input.attributes.enabled ?? true, tags: input.tags });
  return {
    status: 202,
    body: wire.operationOut(vault, record.name, operation),
    headers: {
      Location: `${wire.ids.certificate(vault.url, record.name)}/pending?api-version=${apiVersionOf(request)}&request_id=${operation.requestId}`,
      ...POLL_RETRY_AFTER,
    },
  };
}

/** Key Vault backdates a certificate's notBefore by 10 minutes (BEHAVIOURS.md 27). */
const BACKDATE_MS = 10 * 60_000;

/** Completes a Self-issued operation that is still the record's and still in progress. */
export function issueSelfSigned(vault: VaultContext, record: CertificateRecord, operation: CertificateOperation): void {
  if (record.operation !== operation || operation.status !== 'inProgress') return;
  const issuedAt = vault.now();
  const now = new Date(issuedAt.getTime() - BACKDATE_MS);
  const notAfter = addMonths(issuedAt, operation.policy.x509.validityMonths);
  const der = buildSelfSignedCertificate({
    profile: operation.policy.x509,
    material: operation.material,
    serial: serialOf(operation.version),
    notBefore: now,
    notAfter,
  });
  completeOperation(vault, record, operation, der, undefined, unixSeconds(now), unixSeconds(notAfter));
}

function completeOperation(
  vault: VaultContext,
  record: CertificateRecord,
  operation: CertificateOperation,
  der: Buffer,
  chain: readonly Buffer[] | undefined,
  nbf: number,
  exp: number,
  overrides: { enabled?: boolean | undefined; tags?: Tags | undefined } = {},
): CertificateVersion {
  const now = nowSeconds(vault);
  const { policy } = operation;
  // The issued certificate is a new version, not the pending one (BEHAVIOURS.md 4).
  const version = addCertificateVersion(vault.state, record, {
    version: newVersionId(),
    keyType: policy.keyType,
    material: operation.material,
    x509: policy.x509,
    der,
    chain,
    contentType: policy.contentType,
    exportable: policy.exportable,
    attributes: { enabled: overrides.enabled ?? operation.enabled, nbf, exp, created: now, updated: now },
    tags: overrides.tags ?? operation.tags,
  });
  operation.status = 'completed';
  operation.statusDetails = '';
  operation.cancellationRequested = false;
  operation.dueAtMs = undefined;
  vault.emitNewVersion('Certificate', record.name, version);
  vault.changed();
  return version;
}

export function getCertificate(vault: VaultContext, request: OperationRequest): OperationResult {
  const name = objectName(request);
  const record = requireCertificate(vault, name);
  const { version } = request.params;
  const { operation } = record;
  if (operation?.status === 'inProgress' && (!version || version.toLowerCase() === operation.version)) {
    return pendingBundle(vault, record, operation);
  }
  const found = version ? findVersion(record, version) : currentVersion(record);
  if (found) return bundle(vault, record, found);
  throw notFound('certificate', name, version);
}

export function listCertificates(vault: VaultContext, request: OperationRequest): OperationResult {
  const includePending = request.query.get('includePending') === 'true';
  const { certificates } = vault.state;
  const keys = certificates.sortedKeys();
  const page = namePage(keys, parsePageRequest(request.query), (key) => {
    const record = certificates.get(key) as CertificateRecord;
    const current = currentVersion(record);
    if (current) return wire.certificateItem(vault, record.name, current, certificateDer(vault, current), false);
    if (includePending && inProgress(record)) return wire.pendingCertificateItem(vault, record.name, record.operation as CertificateOperation);
    return undefined;
  });
  return ok(wire.listResult(page.items, page.nextMarker && nextLink(vault.url, request.path, request.query, page.nextMarker)));
}

export function listCertificateVersions(vault: VaultContext, request: OperationRequest): OperationResult {
  const record = requireCertificate(vault, objectName(request));
  const page = versionPage(record.versions, parsePageRequest(request.query), (version) =>
    wire.certificateItem(vault, record.name, version, certificateDer(vault, version), true),
  );
  return ok(wire.listResult(page.items, page.nextMarker && nextLink(vault.url, request.path, request.query, page.nextMarker)));
}

export function getPolicy(vault: VaultContext, request: OperationRequest): OperationResult {
  const record = requireCertificate(vault, objectName(request));
  return ok(wire.policyOut(vault, record.name, record.policy));
}

export function updatePolicy(vault: VaultContext, request: OperationRequest): OperationResult {
  const record = requireCertificate(vault, objectName(request));
  record.policy = applyPolicyInput(record.policy, wire.parsePolicy(request.body), nowSeconds(vault));
  vault.changed();
  return ok(wire.policyOut(vault, record.name, record.policy));
}

/**
 * Updates a version's enabled flag and tags (and the policy when given). Its validity comes from its X.509, so nbf
 * and exp are not updatable, as in Key Vault.
 */
export function updateCertificate(vault: VaultContext, request: OperationRequest): OperationResult {
  const name = objectName(request);
  const record = requireCertificate(vault, name);
  const { version } = request.params;
  const input = wire.parseCertificateParameters(request.body);
  const now = nowSeconds(vault);
  const { operation } = record;
  if (operation?.status === 'inProgress' && (!version || version.toLowerCase() === operation.version)) {
    // The pending version: its flag and tags carry over to the issued version.
    if (input.attributes.enabled !== undefined) operation.enabled = input.attributes.enabled;
    if (input.tags) operation.tags = input.tags;
    operation.updated = now;
    if (input.policy) record.policy = applyPolicyInput(record.policy, input.policy, now);
    vault.changed();
    return pendingBundle(vault, record, operation);
  }
  const target = version ? findVersion(record, version) : currentVersion(record);
  if (!target) throw notFound('certificate', name, version);
  if (input.attributes.enabled !== undefined) target.attributes.enabled = input.attributes.enabled;
  if (input.tags) target.tags = input.tags;
  target.attributes.updated = now;
  if (input.policy) record.policy = applyPolicyInput(record.policy, input.policy, now);
  vault.changed();
  return bundle(vault, record, target);
}

export function getOperation(vault: VaultContext, request: OperationRequest): OperationResult {
  const { record, operation } = requireOperation(vault, objectName(request));
  const body = wire.operationOut(vault, record.name, operation);
  return operation.status === 'inProgress' ? { status: 200, body, headers: POLL_RETRY_AFTER } : ok(body);
}

/**
 * A cancellation is only a request (BEHAVIOURS.md 6): the operation stays `inProgress` with `cancellation_requested`.
 * A Self-issued certificate is issued anyway when due; another issuer's request becomes `cancelled` after
 * pendingDelayMs.
 */
export function updateOperation(vault: VaultContext, request: OperationRequest): OperationResult {
  const { record, operation } = requireOperation(vault, objectName(request));
  if (wire.parseOperationUpdate(request.body).cancellationRequested && operation.status === 'inProgress' && !operation.cancellationRequested) {
    operation.cancellationRequested = true;
    if (!isSelfIssued(operation.policy)) {
      operation.dueAtMs = vault.now().getTime() + vault.pendingDelayMs;
      scheduleSettle(vault, record, operation);
    }
    vault.changed();
  }
  return ok(wire.operationOut(vault, record.name, operation));
}

/**
 * Deletes the operation: afterwards GET …/pending answers 404 PendingCertificateNotFound and the certificate loses its
 * `pending` link. A Self-issued operation still in progress is issued first (Key Vault's own issuance cannot be
 * stopped; in the recorded traffic the DELETE answers `completed`); another issuer's request is cancelled.
 */
export function deleteOperation(vault: VaultContext, request: OperationRequest): OperationResult {
  const { record, operation } = requireOperation(vault, objectName(request));
  if (operation.status === 'inProgress') {
    if (isSelfIssued(operation.policy)) issueSelfSigned(vault, record, operation);
    else {
      operation.status = 'cancelled';
      operation.statusDetails = 'The certificate request was cancelled.';
      operation.error = { code: 'Canceled', message: 'The certificate request was cancelled.' };
    }
  }
  record.operation = undefined;
  vault.changed();
  return ok(wire.operationOut(vault, record.name, operation));
}

/** Completes a pending (non-Self) operation with the certificate its CA issued for the CSR. */
export function mergeCertificate(vault: VaultContext, request: OperationRequest): OperationResult {
  const { record, operation } = requireOperation(vault, objectName(request));
  if (operation.status !== 'inProgress') {
    throw badParameter(`The certificate operation of ${record.name} is ${operation.status}: there is nothing to merge.`);
  }
  const input = wire.parseMerge(request.body);
  const [leaf, ...chain] = input.x5c;
  let description;
  try {
    description = describeCertificate(leaf as Buffer);
  } catch {
    throw badParameter("Invalid merge parameters: 'x5c.0' is not a DER certificate.");
  }
  if (!description.spki.equals(operation.material.spki)) {
    throw badParameter('The public key of the merged certificate does not match the pending certificate request.');
  }
  const version = completeOperation(
    vault,
    record,
    operation,
    leaf as Buffer,
    chain,
    unixSeconds(description.notBefore),
    unixSeconds(description.notAfter),
    { enabled: input.attributes.enabled ?? operation.enabled, tags: input.tags ?? operation.tags },
  );
  return {
    ...bundle(vault, record, version),
    status: 201,
    headers: { Location: `${wire.ids.certificate(vault.url, record.name)}?api-version=${apiVersionOf(request)}` },
  };
}

function readImport(value: string, password: string | undefined): ParsedCertificateBundle {
  try {
    return value.trimStart().startsWith('-----BEGIN') ? parsePem(value, password) : parsePfx(value, password);
  } catch (err) {
    throw badParameter(`The certificate to import cannot be used: ${(err as Error).message}.`);
  }
}

/** Imports a PFX (base64) or PEM certificate with its private key as a new version. */
export function importCertificate(vault: VaultContext, request: OperationRequest): OperationResult {
  const name = objectName(request);
  const input = wire.parseCertificateImport(request.body);
  assertNameFree(vault, name);
  const parsed = readImport(input.value, input.password);
  const versionId = newVersionId();
  let material;
  try {
    material = materialFromPrivateKey(versionId, parsed.privateKey);
  } catch (err) {
    throw badParameter(`The certificate to import cannot be used: ${(err as Error).message}.`);
  }
  const [leaf] = parsed.chain as [Buffer, ...Buffer[]];
  const description = describeCertificate(leaf);
  const now = nowSeconds(vault);
  const implied = applyPolicyInput(undefined, policyFromCertificate(description, material.shape, parsed.contentType), now);
  const policy = input.policy ? applyPolicyInput(implied, input.policy, now) : implied;
  if (keyShapeOf(policy).kind !== material.shape.kind) {
    throw badParameter(`Invalid certificate import parameters: 'policy.key_props.kty' ${policy.keyType} does not match the imported ${material.shape.kind} key.`);
  }
  const record = vault.state.certificates.get(name) ?? vault.state.certificates.add({ name, policy, versions: [], operation: undefined });
  record.policy = policy;
  const version = addCertificateVersion(vault.state, record, {
    version: versionId,
    keyType: policy.keyType,
    material,
    x509: policy.x509,
    der: leaf,
    chain: parsed.chain.slice(1),
    contentType: policy.contentType,
    exportable: policy.exportable,
    attributes: {
      enabled: input.attributes.enabled ?? true,
      nbf: unixSeconds(description.notBefore),
      exp: unixSeconds(description.notAfter),
      created: now,
      updated: now,
    },
    tags: input.tags,
  });
  vault.emitNewVersion('Certificate', record.name, version);
  vault.changed();
  return bundle(vault, record, version);
}
