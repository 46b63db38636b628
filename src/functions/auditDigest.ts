/** Timer: a signed audit digest for every vault with new audit rows (also written at the end of every run). */
import { app, type InvocationContext, type Timer } from '@azure/functions';
import { contextLogger } from '../app/logging.js';
import { getAuditServices } from '../app/services.js';
import { writeDigests } from '../core/audit-digest.js';

export async function auditDigest(_timer: Timer, context: InvocationContext): Promise<void> {
  const log = contextLogger(context);
  // The digests need storage and the key only: they are written even when Rotor's configuration is broken.
  const { digests } = await getAuditServices();
  if (!digests) {
    context.warn('audit digests are off: ROTOR_DIGEST_KEY_ID is not set');
    return;
  }
  const { written, failed } = await writeDigests({ ...digests.writer, log });
  context.log(`audit digests: ${written.length} written, ${failed.length} failed`, { written, failed });
  if (failed.length) throw new Error(`audit digests failed for ${failed.join(', ')}`);
}

app.timer('auditDigest', { schedule: '%ROTOR_DIGEST_SCHEDULE%', handler: auditDigest });
