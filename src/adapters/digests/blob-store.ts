/**
 * The audit digests in Blob storage (container ROTOR_DIGEST_CONTAINER, version-level immutability in Azure): blobs
 * `<vault>/<seq>.json`, created with `If-None-Match: *` so an existing digest is never overwritten. This adapter has
 * no operation that deletes or replaces a blob. Against a connection string (the local stack) it creates the
 * container on first use; in Azure the container (with its immutability policy) comes from the Bicep and Rotor's
 * identity may only write blobs in it.
 */
import type { TokenCredential } from '@azure/core-auth';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import type { DigestStore } from '../../core/audit-digest.js';
import { ensureOnce } from '../storage/clients.js';

const REQUEST_TIMEOUT_MS = 30_000;
/** Digests are small (a few KB to a few hundred KB); anything bigger is not Rotor's. */
const MAX_DIGEST_BYTES = 8 * 1024 * 1024;

export type BlobConnection = { kind: 'connectionString'; connectionString: string } | { kind: 'identity'; blobServiceUri: string; credential: TokenCredential };

export function digestContainer(connection: BlobConnection, container: string): ContainerClient {
  const options = { retryOptions: { maxTries: 5, tryTimeoutInMs: REQUEST_TIMEOUT_MS, retryDelayInMs: 300, maxRetryDelayInMs: 10_000 } };
  const service =
    connection.kind === 'connectionString'
      ? BlobServiceClient.fromConnectionString(connection.connectionString, options)
      : new BlobServiceClient(connection.blobServiceUri, connection.credential, options);
  return service.getContainerClient(container);
}

const statusOf = (err: unknown): number | undefined => (err as { statusCode?: number } | undefined)?.statusCode;

export class BlobDigestStore implements DigestStore {
  constructor(
    private readonly container: ContainerClient,
    /** Create the container when missing (local stack only; in Azure it is provisioned with its policy). */
    private readonly createContainer = false,
  ) {}

  private ready(): Promise<void> {
    if (!this.createContainer) return Promise.resolve();
    return ensureOnce(`blob:${this.container.url}`, () => this.container.createIfNotExists());
  }

  async list(vault: string): Promise<string[]> {
    await this.ready();
    const names: string[] = [];
    try {
      for await (const blob of this.container.listBlobsFlat({ prefix: `${vault}/` })) names.push(blob.name);
    } catch (err) {
      if (statusOf(err) === 404) return [];
      throw err;
    }
    return names.sort();
  }

  async vaults(): Promise<string[]> {
    await this.ready();
    const vaults: string[] = [];
    try {
      for await (const item of this.container.listBlobsByHierarchy('/')) {
        if (item.kind === 'prefix') vaults.push(item.name.replace(/\/$/, ''));
      }
    } catch (err) {
      if (statusOf(err) === 404) return [];
      throw err;
    }
    return vaults.sort();
  }

  async read(name: string): Promise<string | undefined> {
    const blob = this.container.getBlockBlobClient(name);
    try {
      const props = await blob.getProperties();
      if ((props.contentLength ?? 0) > MAX_DIGEST_BYTES) return `(blob of ${props.contentLength} bytes: too large to be a digest)`;
      return (await blob.downloadToBuffer()).toString('utf8');
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  async create(name: string, text: string): Promise<'created' | 'exists'> {
    await this.ready();
    const body = Buffer.from(text, 'utf8');
    try {
      await this.container.getBlockBlobClient(name).upload(body, body.length, {
        conditions: { ifNoneMatch: '*' },
        blobHTTPHeaders: { blobContentType: 'application/json' },
      });
      return 'created';
    } catch (err) {
      // 409 BlobAlreadyExists / 412 ConditionNotMet: a digest of that name exists and stays as it is.
      if (statusOf(err) === 409 || statusOf(err) === 412) return 'exists';
      throw err;
    }
  }
}
