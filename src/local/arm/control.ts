/**
 * `/_rotor/...`: the ARM emulator's control surface over HTTP for other processes (token protected like every
 * request): faults per provider, counters, and an on-demand cache key-rotation check.
 *
 *   GET    /_rotor/counters                 → 200 { "<operation>": count }
 *   DELETE /_rotor/counters                 → 204
 *   PUT    /_rotor/faults/{provider | *}    → 204 (body: FaultOptions, merged into the current faults)
 *   DELETE /_rotor/faults/{provider | *}    → 204
 *   POST   /_rotor/cache-rotation/check     → 200 { "scheduled": n }
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { readBody, sendJson } from '../shared/server.js';
import { ARM_PROVIDERS, type ArmEmulator, type ArmProvider, type FaultOptions } from './types.js';
import { armError } from './wire.js';

const faultOptionsSchema = z.strictObject({
  latencyMs: z.number().nonnegative().optional(),
  serverErrorShare: z.number().min(0).max(1).optional(),
  serverErrorStatus: z.union([z.literal(500), z.literal(502), z.literal(503), z.literal(504)]).optional(),
  throttleShare: z.number().min(0).max(1).optional(),
  retryAfterSeconds: z.number().int().nonnegative().optional(),
  sendRetryAfter: z.boolean().optional(),
  hang: z.boolean().optional(),
  seed: z.number().int().optional(),
}) satisfies z.ZodType<FaultOptions>;

type Control = Pick<ArmEmulator, 'setFaults' | 'clearFaults' | 'counters' | 'resetCounters' | 'checkKeyRotation'>;

function parseProvider(value: string | undefined): ArmProvider | '*' | undefined {
  if (value === '*') return '*';
  return ARM_PROVIDERS.find((p) => p.toLowerCase() === value?.toLowerCase());
}

async function readFaults(req: IncomingMessage): Promise<FaultOptions | string> {
  let json: unknown;
  try {
    json = JSON.parse(await readBody(req, 16_384));
  } catch (err) {
    return `The body must be JSON fault options: ${(err as Error).message}`;
  }
  const parsed = faultOptionsSchema.safeParse(json);
  return parsed.success ? parsed.data : z.prettifyError(parsed.error);
}

export function createControlHandler(control: Control) {
  return async (req: IncomingMessage, res: ServerResponse, segments: string[]): Promise<void> => {
    const bad = (message: string): void => sendJson(res, 400, armError('InvalidRequestContent', message));
    const [resource, arg, extra] = segments;
    const method = req.method ?? 'GET';
    if (resource === 'counters' && !arg) {
      if (method === 'GET') return sendJson(res, 200, control.counters());
      if (method === 'DELETE') {
        control.resetCounters();
        return sendJson(res, 204, undefined);
      }
    }
    if (resource === 'faults' && arg && !extra) {
      const provider = parseProvider(arg);
      if (!provider) return bad(`Unknown provider '${arg}'; use one of ${ARM_PROVIDERS.join(', ')} or *.`);
      if (method === 'DELETE') {
        control.clearFaults(provider);
        return sendJson(res, 204, undefined);
      }
      if (method === 'PUT') {
        const faults = await readFaults(req);
        if (typeof faults === 'string') return bad(faults);
        control.setFaults(provider, faults);
        return sendJson(res, 204, undefined);
      }
    }
    if (resource === 'cache-rotation' && arg === 'check' && !extra && method === 'POST') {
      return sendJson(res, 200, { scheduled: await control.checkKeyRotation() });
    }
    sendJson(res, 404, armError('NotFound', `No control operation ${method} /_rotor/${segments.join('/')}.`));
  };
}
