/**
 * Exactly once by construction: every version Rotor creates carries its rotation id in the tag `rotor-rotation-id`,
 * set in the create request itself (certificate create, key create, secret set). A resumed rotation recognises its
 * own version by that tag — never by "the current version differs from the one we started from": a version made by
 * someone else, by Key Vault's own renewal, or one still pending (disabled, no thumbprint) is never adopted as
 * Rotor's. A create still in flight from a stopped worker has finished long before its lease expires (the lease is
 * far longer than a request's timeout and retries), so after the lease, looking at the versions is enough; a
 * certificate create leaves a pending operation, which the resumed rotation waits for instead of issuing another.
 */
import type { ObjectSnapshot, ObjectType } from './model.js';
import type { VaultGateway } from './ports.js';

export const ROTATION_ID_TAG = 'rotor-rotation-id';

/** The tags of a new version: the current version's (tags are per version), with this rotation's id. */
export function tagsForRotation(current: Readonly<Record<string, string>>, rotationId: string): Record<string, string> {
  const tags = Object.fromEntries(Object.entries(current).filter(([k]) => k.toLowerCase() !== ROTATION_ID_TAG));
  return { ...tags, [ROTATION_ID_TAG]: rotationId };
}

export const rotationIdOf = (v: Pick<ObjectSnapshot, 'tags'>): string | undefined =>
  Object.entries(v.tags).find(([k]) => k.toLowerCase() === ROTATION_ID_TAG)?.[1];

/** Still being created: a certificate's pending version is disabled and has no thumbprint yet. */
export function isPending(v: Pick<ObjectSnapshot, 'type' | 'enabled' | 'thumbprint'>): boolean {
  return v.type === 'certificate' && (!v.enabled || !v.thumbprint);
}

/** The version is this rotation's own, finished one. */
export function isOwnVersion(v: Pick<ObjectSnapshot, 'type' | 'enabled' | 'thumbprint' | 'tags'>, rotationId: string): boolean {
  return Boolean(rotationId) && rotationIdOf(v) === rotationId && !isPending(v);
}

/**
 * The oldest finished version tagged with this rotation's id (Key Vault's own renewal may copy a certificate's tags
 * onto a later version; the first one is Rotor's), or undefined. Reads the versions list (properties only).
 */
export async function findOwnVersion(gateway: VaultGateway, type: ObjectType, name: string, rotationId: string): Promise<ObjectSnapshot | undefined> {
  let own: ObjectSnapshot | undefined;
  const created = (o: ObjectSnapshot): number => o.createdOn?.getTime() ?? Number.MAX_SAFE_INTEGER;
  for await (const page of gateway.listVersions(type, name)) {
    for (const v of page) {
      if (rotationIdOf(v) !== rotationId || !v.version) continue;
      if (!own || created(v) < created(own)) own = v;
    }
  }
  return own;
}
