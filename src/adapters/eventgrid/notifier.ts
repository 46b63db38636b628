/**
 * The Notifier port with the official EventGridPublisherClient: CloudEvents to an Event Grid custom topic,
 * authenticated with Rotor's managed identity (the topic has local auth disabled: no access keys). The domain event
 * is mapped to the wire CloudEvent here, in one place.
 */
import { EventGridPublisherClient, type SendCloudEventInput } from '@azure/eventgrid';
import type { Notifier, RotorEvent } from '../../core/notifications.js';
import { commonClientOptions, type AzureEnvironment } from '../azure-clients.js';

export function toCloudEvent(event: RotorEvent): SendCloudEventInput<unknown> {
  return {
    id: event.id,
    type: event.type,
    source: event.source,
    subject: event.subject,
    time: event.time,
    datacontenttype: 'application/json',
    data: event.data,
  };
}

export class EventGridNotifier implements Notifier {
  private readonly client: EventGridPublisherClient<'CloudEvent'>;

  constructor(endpoint: string, azure: AzureEnvironment) {
    const common = commonClientOptions({ ...azure, maxRetries: azure.maxRetries ?? 3, requestTimeoutMs: azure.requestTimeoutMs ?? 15_000 });
    this.client = new EventGridPublisherClient(endpoint, 'CloudEvent', azure.credential, common);
  }

  async publish(events: readonly RotorEvent[]): Promise<void> {
    if (!events.length) return;
    await this.client.send(events.map(toCloudEvent));
  }
}
