/**
 * Soft delete of keys and secrets, as in a vault with soft delete (every vault since 2020): DELETE moves the object,
 * with all its versions, to the deleted collection (DeletedKeyBundle / DeletedSecretBundle answer), where it can be
 * read (GET /deletedkeys/{name}), recovered (POST …/recover) or purged (DELETE /deletedkeys/{name} → 204) until
 * Key Vault purges it by itself `recoverableDays` after deletion. While deleted, its name cannot be used (409).
 * A key or secret that backs a certificate is deleted with its certificate only (403).
 */
import { nowSeconds, objectName, ok, type OperationRequest, type OperationResult, type VaultContext } from './context.js';
import { conflict, KeyVaultError } from './errors.js';
import { currentVersion, type Collection, type DeletedRecord, type KeyRecord, type SecretRecord } from './model.js';
import { namePage, nextLink, parsePageRequest } from './paging.js';
import { requireRecord, requireUnmanaged } from './records.js';
import * as wire from './wire.js';

type Kind = 'key' | 'secret';

interface Collections<R extends { readonly name: string }> {
  live: Collection<R>;
  deleted: Collection<DeletedRecord<R>>;
}

const keysOf = (vault: VaultContext): Collections<KeyRecord> => ({ live: vault.state.keys, deleted: vault.state.deletedKeys });
const secretsOf = (vault: VaultContext): Collections<SecretRecord> => ({ live: vault.state.secrets, deleted: vault.state.deletedSecrets });

const deletedNotFound = (kind: Kind, name: string): KeyVaultError =>
  new KeyVaultError(404, kind === 'key' ? 'KeyNotFound' : 'SecretNotFound', `Deleted ${kind === 'key' ? 'Key' : 'Secret'} not found: ${name}`);

/** Purges what Key Vault would have purged by now. */
function purgeExpired<R extends { readonly name: string }>(vault: VaultContext, deleted: Collection<DeletedRecord<R>>): void {
  const now = nowSeconds(vault);
  for (const entry of [...deleted.values()]) if (entry.scheduledPurgeDate <= now) deleted.delete(entry.name);
}

/** 409 when a name is taken by a deleted object (create, import and set call this). */
export function assertNotDeleted(vault: VaultContext, kind: Kind, name: string): void {
  const deleted = kind === 'key' ? keysOf(vault).deleted : secretsOf(vault).deleted;
  purgeExpired<{ readonly name: string }>(vault, deleted);
  if (deleted.get(name)) {
    throw conflict(`${kind === 'key' ? 'Key' : 'Secret'} ${name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the ${kind} can only be recovered or purged.`);
  }
}

function deleteObject<R extends { readonly name: string; readonly versions: readonly unknown[]; readonly managed?: boolean }>(
  vault: VaultContext,
  kind: Kind,
  collections: Collections<R>,
  name: string,
): DeletedRecord<R> {
  const record = requireRecord(collections.live as never, kind, name) as unknown as R;
  requireUnmanaged(record as never, kind, 'delete');
  const deletedDate = nowSeconds(vault);
  const entry: DeletedRecord<R> = { name: record.name, record, deletedDate, scheduledPurgeDate: deletedDate + vault.recoverableDays * 86_400 };
  collections.live.delete(record.name);
  collections.deleted.add(entry);
  vault.changed();
  return entry;
}

function requireDeleted<R extends { readonly name: string }>(vault: VaultContext, kind: Kind, collections: Collections<R>, name: string): DeletedRecord<R> {
  purgeExpired(vault, collections.deleted);
  const entry = collections.deleted.get(name);
  if (!entry) throw deletedNotFound(kind, name);
  return entry;
}

export function deleteKey(vault: VaultContext, request: OperationRequest): OperationResult {
  return ok(wire.deletedKeyBundle(vault, deleteObject(vault, 'key', keysOf(vault), objectName(request))));
}

export function getDeletedKey(vault: VaultContext, request: OperationRequest): OperationResult {
  return ok(wire.deletedKeyBundle(vault, requireDeleted(vault, 'key', keysOf(vault), objectName(request))));
}

export function deleteSecret(vault: VaultContext, request: OperationRequest): OperationResult {
  return ok(wire.deletedSecretBundle(vault, deleteObject(vault, 'secret', secretsOf(vault), objectName(request))));
}

export function getDeletedSecret(vault: VaultContext, request: OperationRequest): OperationResult {
  return ok(wire.deletedSecretBundle(vault, requireDeleted(vault, 'secret', secretsOf(vault), objectName(request))));
}

function purge<R extends { readonly name: string }>(vault: VaultContext, kind: Kind, collections: Collections<R>, request: OperationRequest): OperationResult {
  const entry = requireDeleted(vault, kind, collections, objectName(request));
  collections.deleted.delete(entry.name);
  vault.changed();
  return { status: 204, body: undefined };
}

export const purgeDeletedKey = (vault: VaultContext, request: OperationRequest): OperationResult => purge(vault, 'key', keysOf(vault), request);
export const purgeDeletedSecret = (vault: VaultContext, request: OperationRequest): OperationResult => purge(vault, 'secret', secretsOf(vault), request);

function recover<R extends { readonly name: string }>(vault: VaultContext, kind: Kind, collections: Collections<R>, request: OperationRequest): R {
  const entry = requireDeleted(vault, kind, collections, objectName(request));
  if (collections.live.get(entry.name)) throw conflict(`A ${kind} named ${entry.name} exists; the deleted one cannot be recovered over it.`);
  collections.deleted.delete(entry.name);
  collections.live.add(entry.record);
  vault.changed();
  return entry.record;
}

export function recoverDeletedKey(vault: VaultContext, request: OperationRequest): OperationResult {
  const record = recover(vault, 'key', keysOf(vault), request);
  const version = currentVersion(record);
  return ok(version ? wire.keyBundle(vault, record, version) : {});
}

export function recoverDeletedSecret(vault: VaultContext, request: OperationRequest): OperationResult {
  const record = recover(vault, 'secret', secretsOf(vault), request);
  const version = currentVersion(record);
  return ok(version ? wire.secretBundle(vault, record, version, undefined) : {});
}

function listDeleted<R extends { readonly name: string }>(
  vault: VaultContext,
  collections: Collections<R>,
  request: OperationRequest,
  item: (entry: DeletedRecord<R>) => Record<string, unknown> | undefined,
): OperationResult {
  purgeExpired(vault, collections.deleted);
  const keys = collections.deleted.sortedKeys();
  const page = namePage(keys, parsePageRequest(request.query), (key) => {
    const entry = collections.deleted.get(key);
    return entry && item(entry);
  });
  return ok(wire.listResult(page.items, page.nextMarker && nextLink(vault.url, request.path, request.query, page.nextMarker)));
}

export const listDeletedKeys = (vault: VaultContext, request: OperationRequest): OperationResult =>
  listDeleted(vault, keysOf(vault), request, (entry) => wire.deletedKeyItem(vault, entry));
export const listDeletedSecrets = (vault: VaultContext, request: OperationRequest): OperationResult =>
  listDeleted(vault, secretsOf(vault), request, (entry) => wire.deletedSecretItem(vault, entry));
