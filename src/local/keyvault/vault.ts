/**
 * One emulated vault at run time: its state, port, request counters and faults, and the VaultContext its
 * operation handlers use (clock, events, persistence and timers come from the emulator).
 */
import type { ObjectType, VaultContext } from './context.js';
import { keyVaultEvent, type EventBus } from './events.js';
import { FaultController } from './faults.js';
import type { VaultState, VersionBase } from './model.js';
import type { FaultOptions } from './types.js';

/** Timers that stop() can clear and that never keep the process alive. */
export class Timers {
  private readonly handles = new Set<NodeJS.Timeout>();

  after(ms: number, task: () => void): void {
    const handle = setTimeout(() => {
      this.handles.delete(handle);
      task();
    }, ms);
    handle.unref();
    this.handles.add(handle);
  }

  clear(): void {
    for (const handle of this.handles) clearTimeout(handle);
    this.handles.clear();
  }
}

export interface EmulatorServices {
  readonly now: () => Date;
  readonly pendingDelayMs: number;
  readonly pendingTimers: boolean;
  readonly events: EventBus;
  readonly timers: Timers;
  /** Schedules a save of persistent state. */
  readonly changed: () => void;
  readonly log: (line: string) => void;
}

export class Vault implements VaultContext {
  port = 0;
  readonly faults: FaultController;
  private readonly counts = new Map<string, number>();

  constructor(
    readonly name: string,
    readonly state: VaultState,
    private readonly services: EmulatorServices,
    faults: FaultOptions | undefined,
    readonly recoverableDays = 90,
  ) {
    this.faults = new FaultController(() => performance.now(), faults);
  }

  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  get now(): () => Date {
    return this.services.now;
  }

  get pendingDelayMs(): number {
    return this.services.pendingDelayMs;
  }

  get pendingTimers(): boolean {
    return this.services.pendingTimers;
  }

  get log(): (line: string) => void {
    return this.services.log;
  }

  emitNewVersion(type: ObjectType, name: string, version: VersionBase): void {
    this.services.events.publish(keyVaultEvent(this, type, 'NewVersionCreated', name, version, this.services.now()));
  }

  emitNearExpiry(type: ObjectType, name: string, version: VersionBase): void {
    this.services.events.publish(keyVaultEvent(this, type, 'NearExpiry', name, version, this.services.now()));
  }

  changed(): void {
    this.services.changed();
  }

  schedule(ms: number, task: () => void): void {
    this.services.timers.after(ms, task);
  }

  count(operation: string): void {
    this.counts.set(operation, (this.counts.get(operation) ?? 0) + 1);
  }

  counters(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }

  resetCounters(): void {
    this.counts.clear();
  }
}
