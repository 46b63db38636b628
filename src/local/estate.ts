/**
 * The demo HPC estate `npm start` runs against: built from the source documents (../shared/seeds) — an HPC Pack
 * node-communication certificate (seed 000) expiring in 10 days, Batch pool certificates (seed 003), an HPC Cache
 * RSA-2048 customer-managed key near expiry (seed 002), a Batch admin password, an Operator Nexus credential that
 * Nexus stopped rotating (seed 004), a certificate from an issuer Key Vault cannot renew, a secret with no expiry, a
 * disabled certificate and a healthy one.
 */
import type { SeedFixture } from './keyvault/types.js';

export const ESTATE_VAULTS = { hpc: 'hpc-prod-kv', batch: 'hpc-batch-kv' } as const;

const HPC_PACK_KU = ['digitalSignature', 'keyEncipherment', 'keyAgreement', 'keyCertSign'];
const SERVER_CLIENT_AUTH = ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2'];

export const ESTATE_SEED: SeedFixture = {
  vaults: {
    [ESTATE_VAULTS.hpc]: {
      certificates: [
        {
          name: 'hpc-node-comm',
          subject: 'CN=HPC Pack Node Communication',
          keyType: 'RSA',
          keySize: 2048,
          exportable: true,
          keyUsage: HPC_PACK_KU,
          ekus: SERVER_CLIENT_AUTH,
          validityInMonths: 12,
          notBefore: '-355d',
          expires: '+10d',
          tags: { 'rotor-profile': 'hpc-pack', cluster: 'hpc-cluster-01' },
        },
        {
          name: 'hpc-portal-public',
          subject: 'CN=hpc-portal.contoso.com',
          dnsNames: ['hpc-portal.contoso.com'],
          issuer: 'Unknown',
          keyType: 'RSA',
          keySize: 2048,
          ekus: ['1.3.6.1.5.5.7.3.1'],
          notBefore: '-345d',
          expires: '+20d',
          tags: { owner: 'web-team' },
        },
        {
          name: 'hpc-old-headnode',
          subject: 'CN=hpc-headnode-2019',
          notBefore: '-700d',
          expires: '-335d',
          enabled: false,
        },
        {
          name: 'hpc-headnode-web',
          subject: 'CN=hpc-headnode.contoso.com',
          dnsNames: ['hpc-headnode.contoso.com'],
          ekus: ['1.3.6.1.5.5.7.3.1'],
          notBefore: '-65d',
          expires: '+300d',
        },
      ],
      keys: [
        {
          name: 'hpc-cache-cmk',
          kty: 'RSA',
          keySize: 2048,
          notBefore: '-353d',
          expires: '+12d',
          tags: { 'rotor-profile': 'hpc-cache', cache: 'hpc-cache-01' },
        },
      ],
      secrets: [
        {
          name: 'nexus-bmc-credential',
          contentType: 'text/plain',
          notBefore: '-45d',
          expires: null,
          tags: { 'rotor-secret-kind': 'nexus-credential', cluster: 'nexus-cluster-01' },
        },
        { name: 'scheduler-db-connection', contentType: 'text/plain', notBefore: '-200d', expires: null },
        { name: 'hpcpack-head-node-credentials', contentType: 'application/json', notBefore: '-30d', expires: '+335d' },
      ],
    },
    [ESTATE_VAULTS.batch]: {
      certificates: [
        {
          name: 'batch-node-tls',
          subject: 'CN=batch-nodes.contoso.com',
          dnsNames: ['batch-nodes.contoso.com'],
          keyType: 'RSA',
          keySize: 2048,
          exportable: true,
          keyUsage: ['digitalSignature', 'keyEncipherment'],
          ekus: SERVER_CLIENT_AUTH,
          validityInMonths: 12,
          notBefore: '-300d',
          expires: '+65d',
        },
      ],
      secrets: [
        {
          name: 'batch-admin-password',
          contentType: 'text/plain',
          notBefore: '-85d',
          expires: '+5d',
          tags: { 'rotor-secret-kind': 'batch-admin-password' },
        },
      ],
    },
  },
};

/** The configuration for the estate, given the local stack's vault URLs. */
export function estateConfig(vaultUrls: Readonly<Record<string, string>>): Record<string, unknown> {
  return {
    vaults: Object.values(ESTATE_VAULTS).map((name) => ({ name, url: vaultUrls[name] ?? '' })),
    secretKinds: {
      'batch-admin-password': { generator: 'password', length: 24, minOfEach: 2, validityDays: 90 },
      'nexus-credential': { generator: 'external', expectedRotationDays: 30, rotatedBy: 'Azure Operator Nexus' },
    },
    rotation: { pollIntervalSeconds: 0.2, certificateTimeoutMinutes: 2 },
  };
}
