/**
 * Event Grid: Key Vault system events (Event Grid schema or CloudEvents). Accepted events become work items — an
 * event is only a hint, the worker re-reads the vault; malformed events and events for vaults Rotor does not
 * manage are audited as EventRejected and dropped (returning normally, so Event Grid does not retry them).
 */
import { app, type InvocationContext } from '@azure/functions';
import { contextLogger } from '../app/logging.js';
import { servicesForInvocation } from '../app/services.js';
import { acceptVaultEvents } from '../core/rotor.js';

export async function vaultEvents(event: unknown, context: InvocationContext): Promise<void> {
  const services = await servicesForInvocation('eventgrid', contextLogger(context), 'Key Vault events were not handled (Event Grid retries them)');
  const { accepted, rejected } = await acceptVaultEvents(event, services, contextLogger(context));
  context.log(`events: ${accepted.length} accepted, ${rejected.length} rejected`, {
    accepted: accepted.map((e) => `${e.eventType} ${e.vault}/${e.objectName}`),
  });
}

app.eventGrid('vaultEvents', { handler: vaultEvents });
