/**
 * VaultGateway over the official Key Vault SDK clients (CertificateClient, KeyClient, SecretClient). Lists use the
 * SDK's pagers page by page (25 items per page, Key Vault's maximum), so scanning never collects a vault in memory.
 */
import type { CertificateOperation, CertificatePolicy, KeyVaultCertificateWithPolicy } from '@azure/keyvault-certificates';
import type { PollerLike, PollOperationState } from '@azure/core-lro';
import type { SecretProperties } from '@azure/keyvault-secrets';
import type { CertificateOperationStatus, NewVersionProperties, VaultGateway, VersionUpdate } from '../../core/ports.js';
import type { CertificatePolicyModel, KeySpec, KeyVaultRenewal, ObjectSnapshot, ObjectType, ObjectVersion, VaultRef } from '../../core/model.js';
import { call, toGatewayError } from '../errors.js';
import type { KeyVaultClients } from '../azure-clients.js';
import {
  certificatePolicy,
  certificateSnapshot,
  certificateVersion,
  keyRenewal,
  keySnapshot,
  keyVersion,
  secretSnapshot,
  secretVersion,
} from './mapping.js';

/** Key Vault returns at most 25 items per list page. */
export const KEY_VAULT_PAGE_SIZE = 25;

type OperationPoller = PollerLike<PollOperationState<KeyVaultCertificateWithPolicy> & { certificateOperation?: CertificateOperation }, KeyVaultCertificateWithPolicy>;

const notFoundAsUndefined = async <T>(what: string, fn: () => Promise<T>): Promise<T | undefined> => {
  try {
    return await fn();
  } catch (err) {
    const mapped = toGatewayError(err, what);
    if (mapped.kind === 'NotFound') return undefined;
    throw mapped;
  }
};

export class KeyVaultGateway implements VaultGateway {
  /** Pollers of pending certificate operations, reused across polls (one request per poll). */
  private readonly operations = new Map<string, OperationPoller>();

  constructor(
    readonly vault: VaultRef,
    private readonly clients: KeyVaultClients,
  ) {}

  async *listObjects(type: ObjectType): AsyncIterable<ObjectSnapshot[]> {
    const name = this.vault.name;
    const settings = { maxPageSize: KEY_VAULT_PAGE_SIZE };
    try {
      if (type === 'certificate') {
        for await (const page of this.clients.certificates.listPropertiesOfCertificates().byPage(settings)) {
          yield page.map((p) => certificateSnapshot(name, p));
        }
      } else if (type === 'key') {
        for await (const page of this.clients.keys.listPropertiesOfKeys().byPage(settings)) yield page.map((p) => keySnapshot(name, p));
      } else {
        for await (const page of this.clients.secrets.listPropertiesOfSecrets().byPage(settings)) yield page.map((p) => secretSnapshot(name, p));
      }
    } catch (err) {
      throw toGatewayError(err, `list ${type}s of ${name}`);
    }
  }

  async *listVersions(type: ObjectType, objectName: string): AsyncIterable<ObjectSnapshot[]> {
    const name = this.vault.name;
    const settings = { maxPageSize: KEY_VAULT_PAGE_SIZE };
    try {
      if (type === 'certificate') {
        for await (const page of this.clients.certificates.listPropertiesOfCertificateVersions(objectName).byPage(settings)) {
          yield page.map((p) => certificateSnapshot(name, p));
        }
      } else if (type === 'key') {
        for await (const page of this.clients.keys.listPropertiesOfKeyVersions(objectName).byPage(settings)) yield page.map((p) => keySnapshot(name, p));
      } else {
        for await (const page of this.clients.secrets.listPropertiesOfSecretVersions(objectName).byPage(settings)) {
          yield page.map((p) => secretSnapshot(name, p));
        }
      }
    } catch (err) {
      throw toGatewayError(err, `list versions of ${type} ${objectName}`);
    }
  }

  getCurrent(type: ObjectType, name: string): Promise<ObjectVersion | undefined> {
    return this.read(type, name, undefined);
  }

  getVersion(type: ObjectType, name: string, version: string): Promise<ObjectVersion | undefined> {
    return this.read(type, name, version);
  }

  private read(type: ObjectType, name: string, version: string | undefined): Promise<ObjectVersion | undefined> {
    const vault = this.vault.name;
    const what = `get ${type} ${name}${version ? `/${version}` : ''}`;
    const { certificates, keys, secrets } = this.clients;
    switch (type) {
      case 'certificate':
        return notFoundAsUndefined(what, async () =>
          certificateVersion(vault, version ? await certificates.getCertificateVersion(name, version) : await certificates.getCertificate(name)),
        );
      case 'key':
        return notFoundAsUndefined(what, async () => keyVersion(vault, await keys.getKey(name, version ? { version } : {})));
      case 'secret':
        // GET returns the value; secretVersion() keeps only the properties.
        return notFoundAsUndefined(what, async () => {
          try {
            return secretVersion(vault, await secrets.getSecret(name, version ? { version } : {}));
          } catch (err) {
            // Key Vault refuses GET on a disabled secret (403); its properties are still on the versions list.
            if (toGatewayError(err, what).kind !== 'Forbidden') throw err;
            const disabled = await this.disabledSecretVersion(name, version);
            if (!disabled) throw err;
            return disabled;
          }
        });
    }
  }

  /** The properties of a secret version when it is disabled (the current one: the newest created), else undefined. */
  private async disabledSecretVersion(name: string, version: string | undefined): Promise<ObjectVersion | undefined> {
    let newest: SecretProperties | undefined;
    for await (const p of this.clients.secrets.listPropertiesOfSecretVersions(name)) {
      if (version ? p.version === version : !newest || (p.createdOn?.getTime() ?? 0) > (newest.createdOn?.getTime() ?? 0)) newest = p;
    }
    return newest && newest.enabled === false ? secretVersion(this.vault.name, { name, properties: newest }) : undefined;
  }

  async getCertificatePolicy(name: string): Promise<CertificatePolicyModel> {
    return certificatePolicy(await call(`get policy of certificate ${name}`, () => this.clients.certificates.getCertificatePolicy(name)));
  }

  async getKeyRenewal(name: string): Promise<KeyVaultRenewal | undefined> {
    const policy = await notFoundAsUndefined(`get the rotation policy of key ${name}`, () => this.clients.keys.getKeyRotationPolicy(name));
    return keyRenewal(policy);
  }

  async stopKeyVaultRenewal(type: 'certificate' | 'key', name: string): Promise<CertificatePolicyModel | undefined> {
    if (type === 'certificate') {
      const policy = await call(`get policy of certificate ${name}`, () => this.clients.certificates.getCertificatePolicy(name));
      const lifetimeActions = (policy.lifetimeActions ?? []).map((a) => (a.action?.toLowerCase() === 'autorenew' ? { ...a, action: 'EmailContacts' as const } : a));
      const updated: CertificatePolicy = { ...policy, lifetimeActions };
      // The policy sent, not the SDK's return value: @azure/keyvault-certificates (4.10.3) maps an unset response body there
      // (no subject, no key properties), and creating a version from it would be refused.
      await call(`update policy of certificate ${name}`, () => this.clients.certificates.updateCertificatePolicy(name, updated));
      return certificatePolicy(updated);
    }
    const policy = await call(`get the rotation policy of key ${name}`, () => this.clients.keys.getKeyRotationPolicy(name));
    const lifetimeActions = (policy.lifetimeActions ?? []).map((a) => (a.action.toLowerCase() === 'rotate' ? { ...a, action: 'Notify' as const } : a));
    await call(`update the rotation policy of key ${name}`, () => this.clients.keys.updateKeyRotationPolicy(name, { lifetimeActions, expiresIn: policy.expiresIn }));
    return undefined;
  }

  async startCertificateVersion(name: string, policy: CertificatePolicyModel, tags: Readonly<Record<string, string>>): Promise<void> {
    this.operations.delete(name);
    await call(`create a version of certificate ${name}`, () =>
      this.clients.certificates.beginCreateCertificate(name, policy.raw as CertificatePolicy, { tags: { ...tags } }),
    );
  }

  async getCertificateOperation(name: string): Promise<CertificateOperationStatus> {
    let poller = this.operations.get(name);
    try {
      if (poller) await poller.poll();
      else {
        poller = await this.clients.certificates.getCertificateOperation(name);
        this.operations.set(name, poller);
      }
    } catch (err) {
      this.operations.delete(name);
      const mapped = toGatewayError(err, `get the pending operation of certificate ${name}`);
      if (mapped.kind === 'NotFound') return { status: 'none' };
      throw mapped;
    }
    const operation = poller.getOperationState().certificateOperation;
    const status = operation?.status?.toLowerCase();
    if (status === 'inprogress') return { status: 'inProgress', message: operation?.statusDetails };
    this.operations.delete(name);
    if (status === 'completed') return { status: 'completed' };
    if (status === 'cancelled' || status === 'failed') {
      return { status, message: operation?.error?.message ?? operation?.statusDetails ?? status };
    }
    return { status: 'none' };
  }

  async rotateKey(name: string): Promise<ObjectVersion> {
    return keyVersion(this.vault.name, await call(`rotate key ${name}`, () => this.clients.keys.rotateKey(name)));
  }

  async createKeyVersion(name: string, spec: KeySpec, properties: NewVersionProperties): Promise<ObjectVersion> {
    const key = await call(`create a version of key ${name}`, () =>
      this.clients.keys.createKey(name, spec.keyType, {
        ...(spec.keySize ? { keySize: spec.keySize } : {}),
        ...(spec.curve ? { curve: spec.curve } : {}),
        ...(spec.keyOps ? { keyOps: [...spec.keyOps] } : {}),
        tags: { ...properties.tags },
        ...(properties.notBefore ? { notBefore: properties.notBefore } : {}),
        ...(properties.expiresOn ? { expiresOn: properties.expiresOn } : {}),
      }),
    );
    return keyVersion(this.vault.name, key);
  }

  async setSecretVersion(name: string, value: string, properties: NewVersionProperties): Promise<ObjectVersion> {
    const secret = await call(`set a version of secret ${name}`, () =>
      this.clients.secrets.setSecret(name, value, {
        tags: { ...properties.tags },
        ...(properties.contentType ? { contentType: properties.contentType } : {}),
        ...(properties.notBefore ? { notBefore: properties.notBefore } : {}),
        ...(properties.expiresOn ? { expiresOn: properties.expiresOn } : {}),
      }),
    );
    return secretVersion(this.vault.name, secret);
  }

  async updateVersion(type: ObjectType, name: string, version: string, update: VersionUpdate): Promise<void> {
    const what = `update ${type} ${name}/${version}`;
    const common = {
      ...(update.enabled !== undefined ? { enabled: update.enabled } : {}),
      ...(update.tags ? { tags: { ...update.tags } } : {}),
    };
    const withExpiry = { ...common, ...(update.expiresOn ? { expiresOn: update.expiresOn } : {}) };
    if (type === 'certificate') await call(what, () => this.clients.certificates.updateCertificateProperties(name, version, common));
    else if (type === 'key') await call(what, () => this.clients.keys.updateKeyProperties(name, version, withExpiry));
    else await call(what, () => this.clients.secrets.updateSecretProperties(name, version, withExpiry));
  }
}
