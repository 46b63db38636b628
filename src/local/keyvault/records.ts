/** Lookups shared by the key and secret operations: the record, its version, and the managed-by-certificate guard. */
import { forbidden, notFound, type ObjectKind } from './errors.js';
import { currentVersion, findVersion, type Collection, type VersionBase } from './model.js';

interface VersionedRecord<V extends VersionBase> {
  readonly name: string;
  readonly versions: readonly V[];
  readonly managed?: boolean;
}

/** The record of an object that has at least one version, or Key Vault's 404. */
export function requireRecord<R extends VersionedRecord<VersionBase>>(collection: Collection<R>, kind: ObjectKind, name: string): R {
  const record = collection.get(name);
  if (!record?.versions.length) throw notFound(kind, name);
  return record;
}

/** Keys and secrets that back a certificate can only change through the certificate (Key Vault answers 403). */
export function requireUnmanaged(record: VersionedRecord<VersionBase>, kind: 'key' | 'secret', operation: string): void {
  if (record.managed) {
    throw forbidden(`Operation ${operation} is not allowed on the ${kind} ${record.name}: it is managed by the certificate of that name.`);
  }
}

/** The named version, or the current one. */
export function targetVersion<V extends VersionBase>(record: VersionedRecord<V>, kind: ObjectKind, version: string | undefined): V {
  const found = version ? findVersion(record, version) : currentVersion(record);
  if (!found) throw notFound(kind, record.name, version);
  return found;
}
