/**
 * The emulator's control API on each vault's port (bearer-protected like the vault), for processes that do not
 * hold the emulator object (benchmarks run the stack in another process):
 *   GET  /_rotor/counters          this vault's request counters
 *   POST /_rotor/counters/reset    resets this vault's counters
 *   POST /_rotor/faults            FaultOptions for this vault (merged, like setFaults)
 *   POST /_rotor/seed              a SeedFixture ({"vaults": {...}})
 *   POST /_rotor/check-expiry      emits due NearExpiry/Expired events → {"emitted": n}
 *   POST /_rotor/lifetime-actions  performs due lifetime actions (AutoRenew, Rotate, ...) → {"renewed","rotated","notified"}
 *   POST /_rotor/save              writes persistent state now
 */
import type { OperationResult } from './context.js';
import { ok } from './context.js';
import { badParameter, KeyVaultError } from './errors.js';
import { faultOptionsSchema } from './faults.js';
import { validateFixture } from './seed.js';
import type { ControlHandler } from './server.js';
import type { SeedFixture } from './types.js';

export interface EmulatorControls {
  seed(fixture: SeedFixture): Promise<void>;
  checkExpiry(): Promise<number>;
  runLifetimeActions(): Promise<{ renewed: string[]; rotated: string[]; notified: string[] }>;
  save(): Promise<void>;
}

function json(body: string): unknown {
  try {
    return body.trim() ? JSON.parse(body) : {};
  } catch {
    throw badParameter('The request body is not valid JSON.');
  }
}

export function createControlHandler(controls: EmulatorControls): ControlHandler {
  return async (vault, method, segments, body): Promise<OperationResult> => {
    const action = `${method} ${segments.join('/')}`;
    switch (action) {
      case 'GET counters':
        return ok(vault.counters());
      case 'POST counters/reset':
        vault.resetCounters();
        return ok({});
      case 'POST faults': {
        const parsed = faultOptionsSchema.safeParse(json(body));
        if (!parsed.success) {
          const issue = parsed.error.issues[0];
          throw badParameter(`Invalid faults: ${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid value'}`);
        }
        vault.faults.update(parsed.data);
        return ok({});
      }
      case 'POST seed':
        try {
          await controls.seed(validateFixture(json(body)));
        } catch (err) {
          throw err instanceof KeyVaultError ? err : badParameter((err as Error).message);
        }
        return ok({});
      case 'POST check-expiry':
        return ok({ emitted: await controls.checkExpiry() });
      case 'POST lifetime-actions':
        return ok(await controls.runLifetimeActions());
      case 'POST save':
        await controls.save();
        return ok({});
      default:
        throw new KeyVaultError(404, 'NotFound', `Unknown control operation ${method} /_rotor/${segments.join('/')}.`);
    }
  };
}
