/**
 * Child process of the verify scenario: the HPC Pack emulator with one SNI cluster of N nodes, in a process of its
 * own so that the nodes' side of N TLS handshakes (the work N real machines would each do) does not share Rotor's
 * thread. argv[2]: JSON { nodes, domain, latencyMs, certPem, keyPem, caDir }. Prints one JSON line { headNodeUrl,
 * port, settings }, then obeys JSON lines on stdin: { "setAll": { certPem, keyPem } } switches every node's
 * certificate (answered "ok"); end of stdin stops it.
 */
import 'reflect-metadata';
import { createInterface } from 'node:readline';
import { loadOrCreateCa } from '../../src/local/ca.js';
import { startHpcPackEmulator } from '../../src/local/hpcpack/index.js';

interface Args {
  nodes: number;
  domain: string;
  latencyMs: number;
  certPem: string;
  keyPem: string;
  caDir: string;
  password: string;
}

const args = JSON.parse(process.argv[2] ?? '{}') as Args;
const ca = await loadOrCreateCa(args.caDir);
const certificate = { certPem: args.certPem, keyPem: args.keyPem };
const names = Array.from({ length: args.nodes }, (_, i) => `cn${String(i + 1).padStart(5, '0')}`);
const hpc = await startHpcPackEmulator(
  { ca, token: 'bench', stateDir: undefined, preferredPorts: {}, now: () => new Date(), log: () => undefined },
  {
    clusters: [
      {
        name: 'bench',
        username: 'hpcadmin',
        password: args.password,
        nodeDomain: args.domain,
        handshakeLatencyMs: args.latencyMs,
        nodes: names.map((name) => ({ name, linux: true, certificate })),
      },
    ],
  },
);
process.stdout.write(JSON.stringify({ headNodeUrl: hpc.headNodeUrl('bench'), port: hpc.ports()['bench/nodes'], settings: hpc.settings() }) + '\n');
const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  const cmd = JSON.parse(line) as { setAll?: { certPem: string; keyPem: string } };
  if (cmd.setAll) {
    const next = { certPem: cmd.setAll.certPem, keyPem: cmd.setAll.keyPem };
    for (const name of names) hpc.setNodeCertificate('bench', name, next);
  }
  process.stdout.write('ok\n');
}
await hpc.stop();
process.exit(0);
