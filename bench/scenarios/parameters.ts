/** Parameters of a benchmark run (defaults from issue F; `npm run bench -- --help` lists the flags). */
export interface BenchParameters {
  /** PRNG seed of the fixtures. */
  seed: number;
  /** Latency added to every Key Vault request, ms. */
  latencyMs: number;
  /** Share of objects due in the scan scenarios. */
  dueShare: number;
  scanObjects: number;
  vaults: number;
  objectsPerVault: number;
  memorySizes: number[];
  waveKeys: number;
  coldStartRuns: number;
  /** Scenario `instances`: due keys arriving as events, and the numbers of worker processes tried. */
  instancesKeys: number;
  instancesWorkers: number[];
  /** Cluster sizes of the verify scenario. */
  verifySizes: number[];
  /** Delay before an emulated node answers a TLS handshake (the network round trip to a node), ms. */
  probeLatencyMs: number;
  /** Days of audit history before a resume (resume scenario). */
  resumeHistoryDays: number[];
}

export const DEFAULT_PARAMETERS: BenchParameters = {
  seed: 20261129,
  latencyMs: 20,
  dueShare: 0.01,
  scanObjects: 10_000,
  vaults: 50,
  objectsPerVault: 2_000,
  memorySizes: [1_000, 10_000, 100_000],
  waveKeys: 1_000,
  coldStartRuns: 7,
  instancesKeys: 500,
  instancesWorkers: [1, 4, 8],
  verifySizes: [100, 1_000, 10_000],
  probeLatencyMs: 20,
  resumeHistoryDays: [1, 30, 365],
};
