/**
 * Key operations: create (RSA 2048/3072/4096, EC P-256/384/521/256K, software or "HSM"), get, list, rotate,
 * rotation policy, update. Keys are returned as public JWKs only. A certificate's managed key is read-only here.
 */
import { nowSeconds, objectName, ok, type OperationRequest, type OperationResult, type VaultContext } from './context.js';
import { badParameter } from './errors.js';
import { generateKeyMaterial, RSA_SIZES, type KeyShape, type RsaSize } from './key-material.js';
import { currentVersion, defaultKeyOps, newVersionId, type KeyRecord, type KeyVersion, type WireKeyType } from './model.js';
import { namePage, nextLink, parsePageRequest, versionPage } from './paging.js';
import { keyCreateClass, type OperationClass } from './throttle.js';
import { addIsoDuration, parseIsoDuration, unixSeconds } from './time.js';
import * as wire from './wire.js';
import { requireRecord, requireUnmanaged, targetVersion } from './records.js';
import { assertNotDeleted } from './deleted.js';

const CURVE_BY_SIZE: Record<number, 'P-256' | 'P-384' | 'P-521'> = { 256: 'P-256', 384: 'P-384', 521: 'P-521' };

export function keyShapeFor(kty: WireKeyType, keySize: number | undefined, curve: wire.KeyCreateInput['curve']): KeyShape {
  if (kty.startsWith('EC')) {
    const crv = curve ?? (keySize ? CURVE_BY_SIZE[keySize] : 'P-256');
    if (!crv) throw badParameter(`Invalid key create parameters: 'key_size' ${keySize} does not name an EC curve.`);
    return { kind: 'EC', crv };
  }
  if (curve) throw badParameter(`Invalid key create parameters: 'crv' is only valid for EC keys, not ${kty}.`);
  const size = keySize ?? 2048;
  if (!RSA_SIZES.includes(size as RsaSize)) {
    throw badParameter(`Invalid key create parameters: 'key_size' ${size} is not supported (2048, 3072 or 4096).`);
  }
  return { kind: 'RSA', size: size as RsaSize };
}


/** Throttling class of a create: by the requested key type and size (RSA-2048 when the body is invalid). */
export function createCost(_vault: VaultContext, request: OperationRequest): OperationClass[] {
  try {
    const input = wire.parseKeyCreate(request.body);
    return [keyCreateClass(keyShapeFor(input.kty, input.keySize, input.curve))];
  } catch {
    return ['rsa2048Create'];
  }
}

/** Throttling class of a rotation: a create of the current version's key shape. */
export function rotateCost(vault: VaultContext, request: OperationRequest): OperationClass[] {
  const current = vault.state.keys.get(request.params.name)?.versions.at(-1);
  return [current ? keyCreateClass(current.material.shape) : 'rsa2048Create'];
}

function addVersion(vault: VaultContext, record: KeyRecord, version: KeyVersion): OperationResult {
  record.versions.push(version);
  vault.emitNewVersion('Key', record.name, version);
  vault.changed();
  return ok(wire.keyBundle(vault, record, version));
}

export async function createKey(vault: VaultContext, request: OperationRequest): Promise<OperationResult> {
  const name = objectName(request);
  const input = wire.parseKeyCreate(request.body);
  const existing = vault.state.keys.get(name);
  if (existing) requireUnmanaged(existing, 'key', 'create');
  else assertNotDeleted(vault, 'key', name);
  const shape = keyShapeFor(input.kty, input.keySize, input.curve);
  const material = await generateKeyMaterial(newVersionId(), shape);
  const now = nowSeconds(vault);
  const record = vault.state.keys.get(name) ?? vault.state.keys.add({ name, managed: false, versions: [], rotationPolicy: undefined });
  return addVersion(vault, record, {
    version: newVersionId(),
    attributes: {
      enabled: input.attributes.enabled ?? true,
      nbf: input.attributes.nbf ?? null,
      exp: input.attributes.exp ?? null,
      created: now,
      updated: now,
    },
    tags: input.tags,
    expiryEvents: 0,
    kty: input.kty,
    keyOps: input.keyOps ?? defaultKeyOps(input.kty),
    material,
  });
}

/** A new version with the current one's type, size or curve, operations and tags; expiry per the rotation policy. */
export async function rotateKey(vault: VaultContext, request: OperationRequest): Promise<OperationResult> {
  const record = requireRecord(vault.state.keys, 'key', objectName(request));
  requireUnmanaged(record, 'key', 'rotate');
  return rotateRecord(vault, record);
}

/** Rotates a key (a rotate request, or Key Vault's own rotation policy action). */
export async function rotateRecord(vault: VaultContext, record: KeyRecord): Promise<OperationResult> {
  const current = targetVersion(record, 'key', undefined);
  const material = await generateKeyMaterial(newVersionId(), current.material.shape);
  const now = vault.now();
  const expiryTime = record.rotationPolicy?.expiryTime;
  const duration = expiryTime ? parseIsoDuration(expiryTime) : undefined;
  return addVersion(vault, record, {
    version: newVersionId(),
    attributes: {
      enabled: true,
      nbf: null,
      exp: duration ? unixSeconds(addIsoDuration(now, duration)) : null,
      created: unixSeconds(now),
      updated: unixSeconds(now),
    },
    tags: current.tags,
    expiryEvents: 0,
    kty: current.kty,
    keyOps: current.keyOps,
    material,
  });
}

export function getKey(vault: VaultContext, request: OperationRequest): OperationResult {
  const record = requireRecord(vault.state.keys, 'key', objectName(request));
  return ok(wire.keyBundle(vault, record, targetVersion(record, 'key', request.params.version)));
}

export function updateKey(vault: VaultContext, request: OperationRequest): OperationResult {
  const record = requireRecord(vault.state.keys, 'key', objectName(request));
  requireUnmanaged(record, 'key', 'update');
  const version = targetVersion(record, 'key', request.params.version);
  const input = wire.parseKeyUpdate(request.body);
  const { attributes } = version;
  if (input.attributes.enabled !== undefined) attributes.enabled = input.attributes.enabled;
  if (input.attributes.nbf !== undefined) attributes.nbf = input.attributes.nbf;
  if (input.attributes.exp !== undefined) attributes.exp = input.attributes.exp;
  if (input.keyOps) version.keyOps = input.keyOps;
  if (input.tags) version.tags = input.tags;
  attributes.updated = nowSeconds(vault);
  vault.changed();
  return ok(wire.keyBundle(vault, record, version));
}

export function listKeys(vault: VaultContext, request: OperationRequest): OperationResult {
  const { keys } = vault.state;
  const names = keys.sortedKeys();
  const page = namePage(names, parsePageRequest(request.query), (key) => {
    const record = keys.get(key) as KeyRecord;
    const current = currentVersion(record);
    return current && wire.keyItem(vault, record, current, false);
  });
  return ok(wire.listResult(page.items, page.nextMarker && nextLink(vault.url, request.path, request.query, page.nextMarker)));
}

/** The versions of a key, ordered by version id as Key Vault orders them; a key that does not exist has none (200). */
export function listKeyVersions(vault: VaultContext, request: OperationRequest): OperationResult {
  const record = vault.state.keys.get(objectName(request));
  if (!record?.versions.length) return ok(wire.listResult([], undefined));
  const page = versionPage(record.versions, parsePageRequest(request.query), (version) => wire.keyItem(vault, record, version, true));
  return ok(wire.listResult(page.items, page.nextMarker && nextLink(vault.url, request.path, request.query, page.nextMarker)));
}

export function getRotationPolicy(vault: VaultContext, request: OperationRequest): OperationResult {
  const record = requireRecord(vault.state.keys, 'key', objectName(request));
  return ok(wire.rotationPolicyOut(vault, record.name, record.rotationPolicy));
}

export function updateRotationPolicy(vault: VaultContext, request: OperationRequest): OperationResult {
  const record = requireRecord(vault.state.keys, 'key', objectName(request));
  requireUnmanaged(record, 'key', 'update rotation policy');
  const input = wire.parseRotationPolicy(request.body);
  // Key Vault adds its default Notify action to a policy that has none (BEHAVIOURS.md 14).
  if (input.lifetimeActions.length && !input.lifetimeActions.some((a) => a.action === 'Notify')) {
    input.lifetimeActions = [...input.lifetimeActions, ...wire.DEFAULT_ROTATION_ACTIONS];
  }
  const now = nowSeconds(vault);
  record.rotationPolicy = { ...input, created: record.rotationPolicy?.created ?? now, updated: now };
  vault.changed();
  return ok(wire.rotationPolicyOut(vault, record.name, record.rotationPolicy));
}
