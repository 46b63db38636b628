/**
 * Batch accounts and pools through the real @azure/arm-batch client against the local ARM endpoint: every shape of
 * the Key Vault VM extension, pool identities, legacy certificate references, paging and not-found errors.
 */
import { BatchManagementClient, type BatchAccount, type Pool } from '@azure/arm-batch';
import type { RestError } from '@azure/core-rest-pipeline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_SUBSCRIPTION_ID,
  startArmEmulator,
  userAssignedIdentityId,
  type ArmEmulator,
  type BatchPoolSeed,
} from '../../src/local/arm/index.js';
import { createTestContext, type TestContext } from '../helpers/local-context.js';

const RG = 'rg-hpc';
const ACCOUNT = 'hpcbatch';
const CLIENT_ID = '11111111-2222-4333-8444-555555555555';
const OTHER_CLIENT_ID = '99999999-2222-4333-8444-555555555555';
const VAULT = 'https://kv-hpc.vault.azure.net';
const THUMBPRINT = 'A1B2C3D4E5F60718293A4B5C6D7E8F9012345678';

const pool = (name: string, rest: Partial<BatchPoolSeed>): BatchPoolSeed => ({ resourceGroup: RG, account: ACCOUNT, name, ...rest });
const identity = { name: 'id-batch', clientId: CLIENT_ID, principalId: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee' };

let t: TestContext;
let arm: ArmEmulator;
let client: BatchManagementClient;

const newClient = (subscriptionId = DEFAULT_SUBSCRIPTION_ID): BatchManagementClient =>
  new BatchManagementClient(t.credential, subscriptionId, {
    endpoint: arm.url,
    credentialScopes: ['https://management.azure.com/.default'],
    tlsOptions: { ca: t.ca.certPem },
    retryOptions: { maxRetries: 0 },
  });

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

/** The Key Vault VM extension's settings as the SDK hands them over (an untyped dictionary). */
interface KeyVaultSettings {
  secretsManagementSettings: { observedCertificates: unknown[] } & Record<string, unknown>;
  authenticationSettings?: { msiClientId?: string; msiEndpoint?: string };
}

function keyVaultSettings(p: Pool, index = 0): KeyVaultSettings {
  const extension = p.deploymentConfiguration?.virtualMachineConfiguration?.extensions?.[index];
  return extension?.settings as unknown as KeyVaultSettings;
}

beforeAll(async () => {
  t = await createTestContext();
  arm = await startArmEmulator(t.ctx, {
    pageSize: 5,
    seed: {
      resourceGroups: [{ name: 'rg-empty', location: 'northeurope' }],
      batchAccounts: [
        { resourceGroup: RG, name: ACCOUNT, location: 'westeurope', tags: { estate: 'hpc' } },
        { resourceGroup: 'rg-other', name: 'otherbatch', poolAllocationMode: 'UserSubscription' },
        { resourceGroup: RG, name: 'bigbatch' },
      ],
      batchPools: [
        pool('win-objects', {
          os: 'windows',
          identities: [identity],
          currentDedicatedNodes: 4,
          extensions: [
            {
              kind: 'keyVault',
              observedCertificates: [{ url: `${VAULT}/secrets/node-comm`, keyExportable: true }],
              pollingIntervalInS: 300,
              requireInitialSync: true,
              msiClientId: CLIENT_ID,
              msiEndpoint: 'http://169.254.169.254/metadata/identity',
            },
          ],
        }),
        pool('linux-strings', {
          os: 'linux',
          identities: [identity],
          extensions: [
            {
              kind: 'keyVault',
              observedCertificates: [{ url: `${VAULT}/secrets/node-comm/0123456789abcdef0123456789abcdef` }],
              msiClientId: CLIENT_ID,
            },
          ],
        }),
        pool('win-no-msi', {
          identities: [identity, { name: 'id-second', clientId: OTHER_CLIENT_ID }],
          extensions: [{ kind: 'keyVault', observedCertificates: [{ url: `${VAULT}/secrets/node-comm` }] }],
        }),
        pool('linux-mismatch', {
          os: 'linux',
          identities: [identity],
          extensions: [
            { kind: 'keyVault', observedCertificates: [{ url: `${VAULT}/secrets/node-comm` }], msiClientId: OTHER_CLIENT_ID },
          ],
        }),
        pool('win-v1-strings', {
          extensions: [
            {
              kind: 'keyVault',
              typeHandlerVersion: '1.0',
              observedCertificatesFormat: 'strings',
              observedCertificates: [{ url: `${VAULT}/secrets/a` }, { url: `${VAULT}/secrets/b` }],
            },
          ],
        }),
        pool('legacy-certs', {
          certificates: [{ thumbprint: THUMBPRINT, storeLocation: 'CurrentUser', visibility: ['Task', 'RemoteUser'] }],
          allocationState: 'Resizing',
          provisioningState: 'Succeeded',
        }),
        pool('mixed-extensions', {
          os: 'linux',
          extensions: [
            { kind: 'generic', name: 'monitoring', publisher: 'Microsoft.Azure.Monitor', type: 'AzureMonitorLinuxAgent', typeHandlerVersion: '1.0' },
            { kind: 'keyVault', observedCertificates: [{ url: `${VAULT}/secrets/node-comm` }], msiClientId: CLIENT_ID },
          ],
        }),
        ...Array.from({ length: 7 }, (_, i) => ({ resourceGroup: RG, account: 'bigbatch', name: `pool-${i}` })),
      ],
    },
  });
  client = newClient();
});

afterAll(async () => {
  await arm.stop();
  await t.dispose();
});

describe('Batch accounts', () => {
  it('lists by subscription and by resource group, and gets one, in the SDK typed model', async () => {
    const all = await collect(client.batchAccountOperations.list());
    expect(all.map((a: BatchAccount) => a.name).sort()).toEqual(['bigbatch', 'hpcbatch', 'otherbatch']);
    const inGroup = await collect(client.batchAccountOperations.listByResourceGroup('rg-other'));
    expect(inGroup.map((a) => a.name)).toEqual(['otherbatch']);
    expect(inGroup[0]?.poolAllocationMode).toBe('UserSubscription');
    const account = await client.batchAccountOperations.get(RG, ACCOUNT);
    expect(account).toMatchObject({
      id: `/subscriptions/${DEFAULT_SUBSCRIPTION_ID}/resourceGroups/${RG}/providers/Microsoft.Batch/batchAccounts/${ACCOUNT}`,
      type: 'Microsoft.Batch/batchAccounts',
      location: 'westeurope',
      tags: { estate: 'hpc' },
      provisioningState: 'Succeeded',
      accountEndpoint: 'hpcbatch.westeurope.batch.azure.com',
    });
  });

  it('answers ARM not-found errors for a missing account, resource group and subscription', async () => {
    await expect(client.batchAccountOperations.get(RG, 'nope')).rejects.toMatchObject({ statusCode: 404, code: 'ResourceNotFound' });
    await expect(collect(client.batchAccountOperations.listByResourceGroup('rg-missing'))).rejects.toMatchObject({
      statusCode: 404,
      code: 'ResourceGroupNotFound',
    });
    await expect(collect(client.batchAccountOperations.listByResourceGroup('rg-empty'))).resolves.toEqual([]);
    const stranger = newClient('7e57e57e-0000-4000-8000-000000000000');
    const err = (await collect(stranger.batchAccountOperations.list()).catch((e: unknown) => e)) as RestError;
    expect(err).toMatchObject({ statusCode: 404, code: 'SubscriptionNotFound' });
    expect(err.message).toContain('7e57e57e-0000-4000-8000-000000000000');
  });
});

describe('Batch pools', () => {
  it('returns a Windows pool with its identity and the object-form Key Vault extension', async () => {
    const p = await client.poolOperations.get(RG, ACCOUNT, 'win-objects');
    const identityId = userAssignedIdentityId(DEFAULT_SUBSCRIPTION_ID, RG, 'id-batch');
    expect(p.identity?.type).toBe('UserAssigned');
    expect(p.identity?.userAssignedIdentities?.[identityId]).toEqual({ principalId: identity.principalId, clientId: CLIENT_ID });
    const vm = p.deploymentConfiguration?.virtualMachineConfiguration;
    expect(vm?.nodeAgentSkuId).toBe('batch.node.windows amd64');
    expect(vm?.extensions?.[0]).toMatchObject({
      publisher: 'Microsoft.Azure.KeyVault',
      type: 'KeyVaultForWindows',
      typeHandlerVersion: '3.0',
    });
    expect(keyVaultSettings(p)).toEqual({
      secretsManagementSettings: {
        pollingIntervalInS: '300',
        requireInitialSync: true,
        observedCertificates: [
          { url: `${VAULT}/secrets/node-comm`, certificateStoreName: 'MY', certificateStoreLocation: 'LocalMachine', keyExportable: true },
        ],
      },
      authenticationSettings: { msiEndpoint: 'http://169.254.169.254/metadata/identity', msiClientId: CLIENT_ID },
    });
    expect(p.currentDedicatedNodes).toBe(4);
    expect(p.allocationState).toBe('Steady');
    expect(p.provisioningState).toBe('Succeeded');
    expect(p.lastModified).toEqual(t.clock.now());
    expect(p.eTag).toBe(p.etag);
  });

  it('returns a Linux pool whose observed certificates are versioned URL strings', async () => {
    const p = await client.poolOperations.get(RG, ACCOUNT, 'linux-strings');
    expect(p.deploymentConfiguration?.virtualMachineConfiguration?.extensions?.[0]).toMatchObject({
      type: 'KeyVaultForLinux',
      publisher: 'Microsoft.Azure.KeyVault',
    });
    expect(keyVaultSettings(p).secretsManagementSettings).toEqual({
      pollingIntervalInS: '3600',
      certificateStoreLocation: '/var/lib/waagent/Microsoft.Azure.KeyVault.Store',
      observedCertificates: [`${VAULT}/secrets/node-comm/0123456789abcdef0123456789abcdef`],
    });
    expect(keyVaultSettings(p).authenticationSettings).toEqual({ msiClientId: CLIENT_ID });
  });

  it('shows a missing msiClientId and a mismatched one as they are', async () => {
    const noMsi = await client.poolOperations.get(RG, ACCOUNT, 'win-no-msi');
    expect(keyVaultSettings(noMsi).authenticationSettings).toBeUndefined();
    expect(Object.values(noMsi.identity?.userAssignedIdentities ?? {}).map((i) => i.clientId)).toEqual([CLIENT_ID, OTHER_CLIENT_ID]);
    const mismatch = await client.poolOperations.get(RG, ACCOUNT, 'linux-mismatch');
    const clientIds = Object.values(mismatch.identity?.userAssignedIdentities ?? {}).map((i) => i.clientId);
    expect(clientIds).not.toContain(keyVaultSettings(mismatch).authenticationSettings?.msiClientId);
  });

  it('returns the KeyVaultForWindows 1.x string form with store settings beside the list', async () => {
    const p = await client.poolOperations.get(RG, ACCOUNT, 'win-v1-strings');
    expect(p.deploymentConfiguration?.virtualMachineConfiguration?.extensions?.[0]?.typeHandlerVersion).toBe('1.0');
    expect(keyVaultSettings(p).secretsManagementSettings).toEqual({
      pollingIntervalInS: '3600',
      certificateStoreName: 'MY',
      certificateStoreLocation: 'LocalMachine',
      observedCertificates: [`${VAULT}/secrets/a`, `${VAULT}/secrets/b`],
    });
  });

  it('returns legacy Batch certificate references by thumbprint', async () => {
    const p = await client.poolOperations.get(RG, ACCOUNT, 'legacy-certs');
    expect(p.certificates).toEqual([
      {
        id: `/subscriptions/${DEFAULT_SUBSCRIPTION_ID}/resourceGroups/${RG}/providers/Microsoft.Batch/batchAccounts/${ACCOUNT}/certificates/sha1-${THUMBPRINT.toLowerCase()}`,
        storeLocation: 'CurrentUser',
        storeName: 'My',
        visibility: ['Task', 'RemoteUser'],
      },
    ]);
    expect(p.allocationState).toBe('Resizing');
    expect(p.deploymentConfiguration?.virtualMachineConfiguration?.extensions).toBeUndefined();
  });

  it('keeps unrelated extensions beside the Key Vault one', async () => {
    const p = await client.poolOperations.get(RG, ACCOUNT, 'mixed-extensions');
    const types = p.deploymentConfiguration?.virtualMachineConfiguration?.extensions?.map((e) => `${e.publisher}/${e.type}`);
    expect(types).toEqual(['Microsoft.Azure.Monitor/AzureMonitorLinuxAgent', 'Microsoft.Azure.KeyVault/KeyVaultForLinux']);
    expect(p.identity).toBeUndefined();
  });

  it('pages pool lists through nextLink, by the default page size and by maxresults', async () => {
    arm.resetCounters();
    const byDefault = await collect(client.poolOperations.listByBatchAccount(RG, 'bigbatch').byPage());
    expect(byDefault.map((page) => page.length)).toEqual([5, 2]);
    const byMax = await collect(client.poolOperations.listByBatchAccount(RG, 'bigbatch', { maxresults: 3 }).byPage());
    expect(byMax.map((page) => page.length)).toEqual([3, 3, 1]);
    expect(byMax.flat().map((p) => p.name)).toEqual(Array.from({ length: 7 }, (_, i) => `pool-${i}`));
    expect(arm.counters()['batch.pools.list']).toBe(5);
  });

  it('answers not-found for a missing pool and for pools of a missing account', async () => {
    await expect(client.poolOperations.get(RG, ACCOUNT, 'nope')).rejects.toMatchObject({ statusCode: 404, code: 'ResourceNotFound' });
    await expect(collect(client.poolOperations.listByBatchAccount(RG, 'nobatch'))).rejects.toMatchObject({
      statusCode: 404,
      code: 'ResourceNotFound',
    });
  });

  it('shows a pool updated by the control surface with a new lastModified and etag', async () => {
    const before = await client.poolOperations.get(RG, ACCOUNT, 'linux-strings');
    t.clock.advance(3_600_000);
    arm.updatePool(
      { resourceGroup: RG, account: ACCOUNT, name: 'linux-strings' },
      {
        extensions: [
          { kind: 'keyVault', observedCertificates: [{ url: `${VAULT}/secrets/node-comm/fedcba9876543210fedcba9876543210` }], msiClientId: CLIENT_ID },
        ],
        currentDedicatedNodes: 2,
      },
    );
    const after = await client.poolOperations.get(RG, ACCOUNT, 'linux-strings');
    expect(after.lastModified).toEqual(t.clock.now());
    expect(after.etag).not.toBe(before.etag);
    expect(after.currentDedicatedNodes).toBe(2);
    expect(keyVaultSettings(after).secretsManagementSettings.observedCertificates).toEqual([
      `${VAULT}/secrets/node-comm/fedcba9876543210fedcba9876543210`,
    ]);
  });

  it('rejects seeds naming the bad field', () => {
    expect(() => arm.seed({ batchPools: [pool('orphan', { account: 'missing' })] })).toThrow(/batchPools\[0\]\.account/);
    expect(() => arm.seed({ batchPools: [pool('bad', { certificates: [{ thumbprint: 'xyz' }] })] })).toThrow(
      /batchPools\[0\]\.certificates\[0\]\.thumbprint/,
    );
  });
});
