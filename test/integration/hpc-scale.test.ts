/**
 * Acceptance of issue 12 (HPC scale): a certificate consumed by a 2,000-node HPC Pack cluster rotates through the
 * real SDK clients and Azurite. The cluster comes from the large-estate generator: 60 nodes never install the new
 * version (stale), 20 stall and 20 refuse connections (unreachable), 5 names are missing from DNS (misconfigured).
 * The first check names every one of them in the audit rows, `rotor status` and the timeline; once the stale nodes
 * install the new version, the unreachable ones answer and the missing names resolve, the rotation converges.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServices, useServices, type AppServices } from '../../src/app/services.js';
import { formatStatusTable } from '../../src/cli/commands/status.js';
import { parseConfig, type RotorConfig } from '../../src/core/config.js';
import type { Logger } from '../../src/core/ports.js';
import { recheckObject, rotationContext } from '../../src/core/rotor.js';
import { processObject } from '../../src/core/scan.js';
import { vaultStatus } from '../../src/core/status.js';
import { auditObject } from '../../src/functions/auditObject.js';
import { largeEstateConfig, largeEstatePlan, largeEstateSeed, largeEstateServices, type LargeEstatePlan, type NodeRole } from '../../src/local/estate-large.js';
import type { HpcPackEmulator } from '../../src/local/hpcpack/index.js';
import { startLocalStack, type LocalStack } from '../../src/local/stack.js';
import { bodyOf, get, quietContext } from '../support/audit.js';

const quiet: Logger = { info() {}, warn() {}, error() {} };
const CLUSTER = 'hpc-accept';

let plan: LargeEstatePlan;
let stack: LocalStack;
let config: RotorConfig;
let services: AppServices;
let hpcpack: HpcPackEmulator;

const cluster = () => plan.clusters[0]!;
const certificate = () => cluster().certificate;
const nodesWith = (...roles: NodeRole[]) => cluster().nodes.filter((n) => roles.includes(n.role)).map((n) => n.name);

async function build(): Promise<AppServices> {
  const s = await buildServices({ env: stack.settings(), config, log: quiet });
  useServices(s);
  return s;
}

beforeAll(async () => {
  plan = largeEstatePlan({ clusters: [{ name: CLUSTER, nodes: 2_000 }], vaults: 3, objectsPerVault: 3, batchAccounts: 1, pools: 0, caches: 0 });
  const password = randomBytes(12).toString('hex');
  stack = await startLocalStack({
    services: largeEstateServices(plan, password),
    keyVault: { vaults: [...plan.vaults], seed: largeEstateSeed(plan, password), pendingDelayMs: 200 },
  });
  hpcpack = stack.services.get('hpcpack') as HpcPackEmulator;
  const urls = Object.fromEntries(plan.vaults.map((v) => [v, `${stack.keyVault.vaultUrl(v)}/`]));
  const raw = largeEstateConfig(plan, urls, stack.services) as { consumers: { hpcPack: Array<Record<string, unknown>> } };
  // A generous probe timeout: on a loaded machine a handshake can take seconds, and a node that answers late must not
  // count as unreachable. The stalled nodes cost this once per check, side by side.
  config = parseConfig({ ...raw, consumers: { ...raw.consumers, hpcPack: raw.consumers.hpcPack.map((c) => ({ ...c, probeTimeoutMs: 20_000 })) } });
  services = await build();
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

describe('a certificate consumed by a 2,000-node HPC Pack cluster', () => {
  it('the cluster has stale, unreachable and unresolvable nodes', () => {
    expect(nodesWith('stale')).toHaveLength(60);
    expect(nodesWith('stall', 'closed')).toHaveLength(40);
    expect(nodesWith('unresolved')).toHaveLength(5);
  });

  let rotationId = '';

  it('rotates, and the first check names every stale, unreachable and misconfigured node (rows, status, timeline)', async () => {
    const vault = services.config.vaults.find((v) => v.name === plan.hpcVault)!;
    const started = performance.now();
    const result = await processObject('certificate', certificate(), undefined, rotationContext(services, vault, { runId: 'accept-1', trigger: 'manual' }, quiet));
    console.log(`rotation and first check of 2,000 nodes: ${((performance.now() - started) / 1000).toFixed(1)} s`);
    expect(result.outcome).toBe('Verifying');
    const state = (await services.states.get(plan.hpcVault, 'certificate', certificate()))!.value;
    expect(state.status).toBe('Verifying');
    rotationId = state.rotationId ?? '';

    // Consumer rows: one per node, each with its state and reason.
    const rows = await services.consumerResults!.list(rotationId);
    expect(rows).toHaveLength(2_000);
    const byNode = new Map(rows.map((r) => [r.id.split('/').pop()!, r]));
    const expectNodes = (names: string[], status: string, reason: string) => {
      for (const name of names) expect(byNode.get(name), name).toMatchObject({ status, reason });
    };
    expectNodes(nodesWith('following'), 'Verified', 'PresentsNewCertificate');
    expectNodes(nodesWith('stale'), 'Stale', 'PresentsOldCertificate');
    expectNodes(nodesWith('stall'), 'Unreachable', 'Timeout');
    expectNodes(nodesWith('closed'), 'Unreachable', 'ConnectionFailed');
    expectNodes(nodesWith('unresolved'), 'Misconfigured', 'NameNotResolved');

    // Audit rows: every node that needs attention is named, with its state.
    const audit = await services.auditReader.objectRows({ vault: plan.hpcVault, objectType: 'certificate', objectName: certificate() }, 10_000);
    const named = (action: string) => new Set(audit.rows.filter((r) => r.record.action === action && r.record.rotationId === rotationId).map((r) => /\/([^/)]+)\)$/.exec(r.record.consumer)?.[1]));
    expect(named('ConsumerStale')).toEqual(new Set(nodesWith('stale')));
    expect(named('ConsumerUnreachable')).toEqual(new Set(nodesWith('stall', 'closed')));
    expect(named('ConsumerMisconfigured')).toEqual(new Set(nodesWith('unresolved')));

    // rotor status: lists every node that is not verified, by name, with its state.
    // A terminal wide enough that no consumer line wraps (the layout itself is covered by the status unit tests).
    const status = formatStatusTable(
      await vaultStatus({ config: services.config, gateway: services.gateway(vault), states: services.states, clock: services.clock, consumerResults: services.consumerResults }),
      { width: 300, color: false },
    );
    for (const name of nodesWith('stale')) expect(status).toMatch(new RegExp(`Stale\\s+HPC Pack node ${CLUSTER}/${name} `));
    for (const name of nodesWith('stall', 'closed')) expect(status).toMatch(new RegExp(`Unreachable\\s+HPC Pack node ${CLUSTER}/${name} `));
    for (const name of nodesWith('unresolved')) expect(status).toMatch(new RegExp(`Misconfigured\\s+HPC Pack node ${CLUSTER}/${name} .*does not resolve`));

    // The timeline (GET /api/audit/objects/{vault}/certificate/{name}): the rotation's consumers, each with its state.
    const res = await bodyOf(await auditObject(get(`/api/audit/objects/${plan.hpcVault}/certificate/${certificate()}`, { vault: plan.hpcVault, type: 'certificate', name: certificate() }), quietContext()));
    expect(res.status).toBe(200);
    const timeline = res.json() as unknown as { rotations: Array<{ rotationId: string; consumers: Array<{ consumer: string; state: string }> }> };
    const story = timeline.rotations.find((r) => r.rotationId === rotationId)!;
    expect(story.consumers).toHaveLength(2_000);
    const stateOf = new Map(story.consumers.map((c) => [/\/([^/)]+)\)$/.exec(c.consumer)?.[1], c.state]));
    for (const name of nodesWith('stale')) expect(stateOf.get(name)).toBe('Stale');
    for (const name of nodesWith('stall', 'closed')) expect(stateOf.get(name)).toBe('Unreachable');
    for (const name of nodesWith('unresolved')) expect(stateOf.get(name)).toBe('Misconfigured');
  }, 300_000);

  it('converges once the stale nodes install the new version, the unreachable ones answer and the names resolve', async () => {
    const pem = stack.keyVault.certificatePem(plan.hpcVault, certificate());
    for (const name of nodesWith('stale')) hpcpack.setNodeCertificate(CLUSTER, name, { certPem: pem.certPem, keyPem: pem.keyPem });
    for (const name of nodesWith('stall', 'closed')) await hpcpack.setNodeReachability(CLUSTER, name, 'tls');
    for (const name of nodesWith('unresolved')) hpcpack.updateNode(CLUSTER, name, { dns: true });
    // The DNS records now exist: a new process (services built again) resolves them.
    services = await build();
    const vault = services.config.vaults.find((v) => v.name === plan.hpcVault)!;
    const started = performance.now();
    const result = await recheckObject('certificate', certificate(), undefined, rotationContext(services, vault, { runId: 'accept-2', trigger: 'manual' }, quiet), true);
    console.log(`re-check of 2,000 nodes: ${((performance.now() - started) / 1000).toFixed(1)} s`);
    expect(result.outcome).toBe('Rotated');
    expect((await services.states.get(plan.hpcVault, 'certificate', certificate()))!.value.status).toBe('Completed');
    const rows = await services.consumerResults!.list(rotationId);
    expect(rows.filter((r) => r.status !== 'Verified')).toEqual([]);
    // The audit log tells each formerly stale node's change.
    const audit = await services.auditReader.objectRows({ vault: plan.hpcVault, objectType: 'certificate', objectName: certificate() }, 10_000);
    const verifiedAgain = audit.rows.filter((r) => r.record.action === 'ConsumerVerified' && r.record.runId === 'accept-2');
    expect(verifiedAgain).toHaveLength(60 + 40 + 5);
    expect(audit.rows.some((r) => r.record.action === 'RotationCompleted' && r.record.rotationId === rotationId)).toBe(true);
  }, 300_000);
});
