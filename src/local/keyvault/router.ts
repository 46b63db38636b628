/**
 * The Key Vault operations the emulator serves: method and path pattern → operation name (the request counter's
 * name), handler and throttling cost (Key Vault's operation classes).
 */
import * as certificates from './certificates.js';
import * as crypto from './crypto.js';
import * as deleted from './deleted.js';
import type { Handler, OperationRequest, VaultContext } from './context.js';
import * as keys from './keys.js';
import * as secrets from './secrets.js';
import type { OperationClass } from './throttle.js';

type Cost = (vault: VaultContext, request: OperationRequest) => OperationClass[];

export interface Route {
  readonly method: string;
  /** Path segments; ':name' and ':version?' (optional, last) are parameters. */
  readonly segments: readonly string[];
  readonly operation: string;
  readonly handler: Handler;
  readonly cost: Cost;
}

const READ: Cost = () => ['read'];
const WRITE: Cost = () => ['write'];
const SECRET_CREATE: Cost = () => ['secretCreate'];
/** Key Vault counts sign/verify as cryptographic transactions of the key's type (here: the read budget). */
const CRYPTO: Cost = () => ['read'];
/** Importing a certificate is a write that also sets its secret. */
const IMPORT: Cost = () => ['write', 'secretCreate'];

const route = (method: string, path: string, operation: string, handler: Handler, cost: Cost): Route => ({
  method,
  segments: path.split('/').filter(Boolean),
  operation,
  handler,
  cost,
});

/** Literal routes precede the ':version?' ones they would otherwise shadow. */
const ROUTES: readonly Route[] = [
  route('GET', '/certificates', 'certificates.list', certificates.listCertificates, READ),
  route('GET', '/certificates/:name/versions', 'certificates.listVersions', certificates.listCertificateVersions, READ),
  route('POST', '/certificates/:name/create', 'certificates.create', certificates.createCertificate, certificates.createCost),
  route('POST', '/certificates/:name/import', 'certificates.import', certificates.importCertificate, IMPORT),
  route('GET', '/certificates/:name/pending', 'certificates.getOperation', certificates.getOperation, READ),
  route('PATCH', '/certificates/:name/pending', 'certificates.updateOperation', certificates.updateOperation, WRITE),
  route('DELETE', '/certificates/:name/pending', 'certificates.deleteOperation', certificates.deleteOperation, WRITE),
  route('POST', '/certificates/:name/pending/merge', 'certificates.merge', certificates.mergeCertificate, WRITE),
  route('GET', '/certificates/:name/policy', 'certificates.getPolicy', certificates.getPolicy, READ),
  route('PATCH', '/certificates/:name/policy', 'certificates.updatePolicy', certificates.updatePolicy, WRITE),
  route('GET', '/certificates/:name/:version?', 'certificates.get', certificates.getCertificate, READ),
  route('PATCH', '/certificates/:name/:version?', 'certificates.update', certificates.updateCertificate, WRITE),

  route('GET', '/keys', 'keys.list', keys.listKeys, READ),
  route('GET', '/keys/:name/versions', 'keys.listVersions', keys.listKeyVersions, READ),
  route('POST', '/keys/:name/create', 'keys.create', keys.createKey, keys.createCost),
  route('POST', '/keys/:name/rotate', 'keys.rotate', keys.rotateKey, keys.rotateCost),
  route('GET', '/keys/:name/rotationpolicy', 'keys.getRotationPolicy', keys.getRotationPolicy, READ),
  route('PUT', '/keys/:name/rotationpolicy', 'keys.updateRotationPolicy', keys.updateRotationPolicy, WRITE),
  route('POST', '/keys/:name/sign', 'keys.sign', crypto.signWithKey, CRYPTO),
  route('POST', '/keys/:name/:version/sign', 'keys.sign', crypto.signWithKey, CRYPTO),
  route('POST', '/keys/:name/verify', 'keys.verify', crypto.verifyWithKey, CRYPTO),
  route('POST', '/keys/:name/:version/verify', 'keys.verify', crypto.verifyWithKey, CRYPTO),
  route('GET', '/keys/:name/:version?', 'keys.get', keys.getKey, READ),
  route('PATCH', '/keys/:name/:version?', 'keys.update', keys.updateKey, WRITE),
  route('DELETE', '/keys/:name', 'keys.delete', deleted.deleteKey, WRITE),
  route('GET', '/deletedkeys', 'keys.listDeleted', deleted.listDeletedKeys, READ),
  route('GET', '/deletedkeys/:name', 'keys.getDeleted', deleted.getDeletedKey, READ),
  route('DELETE', '/deletedkeys/:name', 'keys.purge', deleted.purgeDeletedKey, WRITE),
  route('POST', '/deletedkeys/:name/recover', 'keys.recover', deleted.recoverDeletedKey, WRITE),

  route('GET', '/secrets', 'secrets.list', secrets.listSecrets, READ),
  route('GET', '/secrets/:name/versions', 'secrets.listVersions', secrets.listSecretVersions, READ),
  route('PUT', '/secrets/:name', 'secrets.set', secrets.setSecret, SECRET_CREATE),
  route('GET', '/secrets/:name/:version?', 'secrets.get', secrets.getSecret, READ),
  route('PATCH', '/secrets/:name/:version?', 'secrets.update', secrets.updateSecret, WRITE),
  route('DELETE', '/secrets/:name', 'secrets.delete', deleted.deleteSecret, WRITE),
  route('GET', '/deletedsecrets', 'secrets.listDeleted', deleted.listDeletedSecrets, READ),
  route('GET', '/deletedsecrets/:name', 'secrets.getDeleted', deleted.getDeletedSecret, READ),
  route('DELETE', '/deletedsecrets/:name', 'secrets.purge', deleted.purgeDeletedSecret, WRITE),
  route('POST', '/deletedsecrets/:name/recover', 'secrets.recover', deleted.recoverDeletedSecret, WRITE),
];

export interface RouteMatch {
  route: Route;
  params: OperationRequest['params'];
}

function matches(route: Route, segments: readonly string[]): OperationRequest['params'] | undefined {
  const pattern = route.segments;
  const optionalLast = pattern.at(-1)?.endsWith('?') ?? false;
  const required = optionalLast ? pattern.length - 1 : pattern.length;
  if (segments.length < required || segments.length > pattern.length) return undefined;
  let name = '';
  let version: string | undefined;
  for (const [i, part] of pattern.entries()) {
    const segment = segments[i];
    if (part === ':name') name = segment ?? '';
    else if (part === ':version?' || part === ':version') version = segment;
    else if (segment?.toLowerCase() !== part) return undefined;
  }
  return { name, version };
}

export function matchRoute(method: string, segments: readonly string[]): RouteMatch | undefined {
  for (const route of ROUTES) {
    if (route.method !== method) continue;
    const params = matches(route, segments);
    if (params) return { route, params };
  }
  return undefined;
}
