/** Timer: the nightly run. Enqueues one work item per configured vault; the queue worker does the rest. */
import { app, type InvocationContext, type Timer } from '@azure/functions';
import { contextLogger } from '../app/logging.js';
import { servicesForInvocation } from '../app/services.js';
import { scheduleRun } from '../core/rotor.js';

export async function nightlyScan(timer: Timer, context: InvocationContext): Promise<void> {
  const services = await servicesForInvocation('timer', contextLogger(context), 'no vault was scanned');
  const { runId, vaults } = await scheduleRun(services, 'timer');
  context.log(`run ${runId}: scheduled scans of ${vaults.length} vaults${timer.isPastDue ? ' (timer was past due)' : ''}`, { runId, vaults });
}

app.timer('nightlyScan', { schedule: '%ROTOR_SCHEDULE%', handler: nightlyScan });
