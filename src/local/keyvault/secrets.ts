/**
 * Secret operations: set, get, list (values never appear in list items), update. The managed secret of a
 * certificate serves the certificate version's PFX or PEM and cannot be set or updated here.
 */
import { certificateSecretValue } from './certificate-material.js';
import { nowSeconds, objectName, ok, type OperationRequest, type OperationResult, type VaultContext } from './context.js';
import { forbidden, notFound } from './errors.js';
import { currentVersion, findVersion, newVersionId, type SecretRecord, type SecretVersion } from './model.js';
import { namePage, nextLink, parsePageRequest, versionPage } from './paging.js';
import { PEM, PKCS12 } from './pkcs12.js';
import * as wire from './wire.js';
import { requireRecord, requireUnmanaged, targetVersion } from './records.js';
import { assertNotDeleted } from './deleted.js';


/** A managed secret's value: the certificate version's PFX or PEM (`outContentType` may ask for the other). */
function managedValue(vault: VaultContext, record: SecretRecord, version: SecretVersion, outContentType: string | null): string {
  const certificate = vault.state.certificates.get(record.name);
  const certificateVersion = certificate && findVersion(certificate, version.version);
  if (!certificateVersion) throw notFound('secret', record.name, version.version);
  const contentType = outContentType === PEM || outContentType === PKCS12 ? outContentType : undefined;
  return certificateSecretValue(vault, certificateVersion, contentType);
}

export function setSecret(vault: VaultContext, request: OperationRequest): OperationResult {
  const name = objectName(request);
  const input = wire.parseSecretSet(request.body);
  const existing = vault.state.secrets.get(name);
  if (existing) requireUnmanaged(existing, 'secret', 'set');
  else assertNotDeleted(vault, 'secret', name);
  const now = nowSeconds(vault);
  const record = existing ?? vault.state.secrets.add({ name, managed: false, versions: [] });
  const version: SecretVersion = {
    version: newVersionId(),
    value: input.value,
    contentType: input.contentType,
    attributes: {
      enabled: input.attributes.enabled ?? true,
      nbf: input.attributes.nbf ?? null,
      exp: input.attributes.exp ?? null,
      created: now,
      updated: now,
    },
    tags: input.tags,
    expiryEvents: 0,
  };
  record.versions.push(version);
  vault.emitNewVersion('Secret', record.name, version);
  vault.changed();
  return ok(wire.secretBundle(vault, record, version, version.value));
}

export function getSecret(vault: VaultContext, request: OperationRequest): OperationResult {
  const record = requireRecord(vault.state.secrets, 'secret', objectName(request));
  const version = targetVersion(record, 'secret', request.params.version);
  if (!version.attributes.enabled) throw forbidden('Operation get is not allowed on a disabled secret.', 'SecretDisabled');
  const value = record.managed ? managedValue(vault, record, version, request.query.get('outContentType')) : version.value;
  return ok(wire.secretBundle(vault, record, version, value));
}

export function updateSecret(vault: VaultContext, request: OperationRequest): OperationResult {
  const record = requireRecord(vault.state.secrets, 'secret', objectName(request));
  requireUnmanaged(record, 'secret', 'update');
  const version = targetVersion(record, 'secret', request.params.version);
  const input = wire.parseSecretUpdate(request.body);
  const { attributes } = version;
  if (input.attributes.enabled !== undefined) attributes.enabled = input.attributes.enabled;
  if (input.attributes.nbf !== undefined) attributes.nbf = input.attributes.nbf;
  if (input.attributes.exp !== undefined) attributes.exp = input.attributes.exp;
  if (input.contentType !== undefined) version.contentType = input.contentType;
  if (input.tags) version.tags = input.tags;
  attributes.updated = nowSeconds(vault);
  vault.changed();
  return ok(wire.secretBundle(vault, record, version, undefined));
}

export function listSecrets(vault: VaultContext, request: OperationRequest): OperationResult {
  const { secrets } = vault.state;
  const names = secrets.sortedKeys();
  const page = namePage(names, parsePageRequest(request.query), (key) => {
    const record = secrets.get(key) as SecretRecord;
    const current = currentVersion(record);
    return current && wire.secretItem(vault, record, current, false);
  });
  return ok(wire.listResult(page.items, page.nextMarker && nextLink(vault.url, request.path, request.query, page.nextMarker)));
}

export function listSecretVersions(vault: VaultContext, request: OperationRequest): OperationResult {
  const record = requireRecord(vault.state.secrets, 'secret', objectName(request));
  const page = versionPage(record.versions, parsePageRequest(request.query), (version) => wire.secretItem(vault, record, version, true));
  return ok(wire.listResult(page.items, page.nextMarker && nextLink(vault.url, request.path, request.query, page.nextMarker)));
}
