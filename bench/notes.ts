/** The written part of the report (findings, before/after figures); kept beside the code that produced them. */
export const REPORT_NOTES = `
## Notes

### What the figures say

- **Scan cost.** The scan reads list pages and nothing else: every object that is not due costs 1/25 of a request,
  exactly the bound. Key Vault lists a certificate's key and secret in the key and secret lists as well (\`managed\`),
  so a vault of N objects with C certificates costs (N + 2C) / 25 list requests; no list filter avoids that. The three
  collections are listed concurrently, so the wall time is close to the longest collection's sequential pages × the
  latency. The naive design (read each object) needs ~16× the requests (report of 2026-12-04; the 26× of 2026-11-29
  also counted reads of the 6,700 keys and secrets the list marks \`managed\`, which any tool would skip — the
  baseline now skips them, and the ratio is reported as measured, without a goal).
- **Many vaults.** 100,000 objects in 50 vaults take seconds. The benchmark runs Key Vault, Azurite and Rotor on the
  same 2 cores, so per-vault times above the list-page bound are CPU, not waiting; one worker invocation per vault
  stays far inside the 10-minute function timeout.
- **Memory.** Pages are evaluated as they arrive and only due objects are kept (a bounded group at a time): from
  1,000 to 100,000 objects the worker's peak RSS grows by ~21 MB and its heap in use after the scan by ~11 MB (see
  the details). What does grow with the estate is small and bounded per object: the metrics count the objects past
  the expiry gauge's cardinality cap by a 32-bit hash each, and the run summary lists at most 1,000 objects.
- **Scan time ratio.** The Key Vault endpoint runs in the benchmark's own process, so its work (TLS, JSON for
  every page) competes with the scanner for the same 2 cores: across runs on this machine the ratio was 1.13–1.16
  alone and up to 1.24 while a type check ran beside it. The requests are the bound exactly.
- **Rotation wave.** Creations are paced per vault by a sliding window of the vault's limit (plus 250 ms of margin
  for network jitter). Until 2026-11-29 the emulator sent Retry-After and Rotor's pacer matched the vault's budget
  exactly, so the wave met no 429 and used ~97 % of the budget (1,000 RSA-2048 keys in ~500 s). Since 2026-12-04 the
  scenario is harder and closer to Azure: 429s carry no Retry-After (as Key Vault's do; the SDK alone does not retry
  them) and the vault grants Rotor 16 creations per 10 s while Rotor is configured for 20 (another client shares the
  budget). Rotor retries every 429 itself (full-jitter backoff, inside the invocation's deadline) and its pacer
  lowers its rate after a throttled creation. **Goals missed in both runs of 2026-12-04:** the first run (10 retries /
  2 minutes per request) rotated 985 and lost 15 rotations to give-ups after 208 429s (budget used 0.65, 1.53× the
  ideal, 27 audit rows per Table request); the defaults became 30 retries / 5 minutes. The second run (this report)
  ran while the 2-core machine also ran several full test suites: it met only 67 429s yet 523 rotations failed and 36
  waited for their retry — failures that are not give-ups after 429 (too few 429s for that); most likely the 30 s
  request timeout while the in-process emulator generated RSA keys on a saturated CPU (not confirmed: the run's audit
  rows were not kept). Open: retries of throttled creations are not paced (they race the pacer's admissions), and the
  figure "rotations failed by 429" counts every failed rotation. Re-run on a quiet machine before drawing conclusions.
  A larger wave than one invocation holds continues in new work items (\`ScanContinued\`), which the scenario follows.

- **Which path, which tables (2026-12-04).** Table storage requests are now counted for every table, batch
  transactions under the table they write (read from the batch body; the path of a batch is only \`/$batch\`). Each
  figure's note names its path. On the nightly scan's path (scan, auto mode) a rotation costs ~4 RotorState requests
  (a read, then a write per transition) against ~0.3 RotorAudit requests: audit rows per RotorAudit request is the
  audit writer's efficiency, and the RotorState and every-table figures stand beside it instead of hiding in it.
- **Many instances, one vault (\`instances\`, 2026-12-04).** Before (issue M, measured with per-process pacers): 4 and 8
  worker processes met 714 and 1,129 429s, 17 and 74 rotations failed, 137 and 205 audit-chain conflicts, 2.8 audit
  rows per transaction. Now a vault's work is done by the one instance holding its lease (src/core/vault-work.ts):
  items land in the vault's pending set and the holder drains it with the scan's group commit, its pacer owning the
  vault's budget (handed over with the lease). Measured on 2026-12-04 with 40 keys per K (the committed
  report; the default is 500 — \`npm run bench -- instances\` — but a 500-key run could not finish on this machine that
  day, see below): **0 audit-chain conflicts at K = 1, 4 and 8; 0 429s at K = 4 and 8** (8 at K = 1, retried, none
  failed); failed rotations 0 at K = 1 and 8 and 4 at K = 4, all with reason Timeout (a create the loaded emulator did
  not answer within the 30 s request timeout — not throttling; they are retried after their backoff), every other key
  exactly one new version; 16–23 audit rows per RotorAudit request (2.8 before) and ~4 RotorState requests per
  rotation (one read and three transitions; unchanged by this work — that is issue H's transition function), plus
  2–3 RotorVaultWork requests per rotation (the pending entry's add and delete, and a share of lease reads). The
  create-budget share (0.29–0.53) and the time against the ideal (1.7–3.7×) missed their goals on that day's machine:
  see the next note. A 100-key run of the same code earlier that day was stopped when 16 of its rotations had failed
  with the same request Timeout at load average 36.
- **This machine during the 2026-12-04 runs.** The 2 cores were shared with six other sessions' builds and test
  suites (load average 25–35 throughout), so wall-time figures of that day are CPU-bound, not Rotor's: the scan took
  6.8× its sequential-page bound (1.16× on 2026-11-29 on a quiet machine, same requests: the request counts are exact),
  and the emulator generating an RSA-2048 pair per rotation could not keep up with 2 creations a second. Request
  counts, 429s, failures, conflicts and one-version-per-key are not affected by load; the time and budget-share
  figures of that day are.

### Changed because of this benchmark (before → after)

- **Audit rows per Table storage request** (wave scenario): **1.06 → 61**. The before figure was measured with
  100 keys (\`--quick\`; 401 rows in 378 requests: 188 transactions and 189 head reads); after the change the
  same quick run gives 36 (the fixed start-up requests weigh more at that size) and the full 1,000-key wave 61, with
  ~90 ms of waiting for durable rows per rotation. Before, each rotation made two writes of its own (its
  opening rows, then its completion), and each write first read the chain head (two requests). Now:
  1. the audit writer caches the chain head it wrote last (with its ETag; a conflict re-reads it), so a write is one
     request;
  2. a flush may linger (\`maxDelayMs\`) so that rows other callers append meanwhile share its transaction;
  3. the worker admits due objects in groups (half its per-vault concurrency); a group's opening rows go out in one
     write when every member has appended its own (a barrier, not a timer), and rotations that complete hand their
     RotationCompleted row to a completion queue that rides along with the next group's write — their Completed
     state is only written once the row is durable, so a crash leaves VersionCreated, which resuming completes.
  Fail-closed is unchanged: no version is created before its RotationStarted row is durable.
- **Queue concurrency of the local host** now follows the Functions host (fetch the next batch when the messages in
  flight drop to \`newBatchThreshold\`), so the many-vaults figure uses the host's concurrency (up to 12 in flight).
- **Memory measurement:** getrusage's maxRSS was the first choice, but Linux carries it across execve, so a child
  process reported the parent's RSS at spawn (280 MB for every size). The worker now reads its own VmHWM.

### HPC scale: verify (8) and resume (9), 2026-12-04 (\`--quick\`: N = 100 and 1,000 only)

- **Measured only with \`--quick\`, on a machine at load average 21–30 (2 cores shared by seven sessions).** The full
  run's N = 10,000 cluster was stopped after 22 minutes in which the benchmark process got 48 s of CPU; its figures
  are not in this report. The check-time ratio (27× the bound at N = 1,000, 31× at N = 100) is CPU starvation, not
  waiting: the bound N ÷ 64 × the probe round trip assumes the probes' CPU is free, and a single sequential probe
  already took 34–37 ms where the emulated network adds 20. Re-run \`npm run bench -- verify\` on a quiet machine
  before reading anything into the ratio.
- **What holds regardless of load:** the rotation converges after the second check at both sizes (before the
  consumer rows, the same scenario left the state at VersionCreated: the verification JSON exceeded Table storage's
  64 KiB property limit already at 100 nodes); stored bytes per node are constant (3,482 B at 100, 3,339 B at 1,000:
  ratio 0.96 — one consumer row and one audit row per node per state change); the largest entity written is 1,329 B
  and the largest string property 520 B, far from 1 MiB and 64 KiB; Table requests per check grow with N only
  through batches of 100 (14 and 8 at N = 100, 29 and 26 at N = 1,000).
- **Resume:** 6 Table requests with 1, 30 or 365 days of audit history, and the audit queries span 1 partition in
  each case. Measured before hcore's change on the same scenario: 6 requests too (Azurite answers any range in one
  response), but the queries spanned 2, 31 and 366 partitions — what Table storage itself scans and may page at
  partition boundaries.
`;
