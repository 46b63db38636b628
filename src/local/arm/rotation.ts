/**
 * HPC Cache auto-rotation: a cache with rotationToLatestKeyVersionEnabled follows its key's latest version. The
 * emulator asks an injected resolver for the latest version, schedules a newer one for `delayMs` later on the
 * emulator clock, and applies it when due (on the next check or read), so tests drive it with their clock alone.
 */
import { splitKeyUrl } from './ids.js';
import type { ArmStore, CacheRecord } from './store.js';
import type { HpcCacheAutoRotationOptions } from './types.js';

interface PendingVersion {
  cache: CacheRecord;
  versionless: string;
  version: string;
  dueAt: number;
}

const cacheKey = (c: CacheRecord): string => `${c.subscriptionId}/${c.resourceGroup}/${c.name}`.toLowerCase();

export class CacheKeyRotation {
  private readonly pending = new Map<string, PendingVersion>();
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<number> | undefined;

  constructor(
    private readonly store: ArmStore,
    private readonly options: HpcCacheAutoRotationOptions | undefined,
    private readonly now: () => Date,
    private readonly log: (line: string) => void,
  ) {}

  start(): void {
    // Like a cache that has been running meanwhile: catch up with newer key versions at once.
    if (this.options?.latestKeyVersion) this.check().catch((err: unknown) => this.log(`key rotation check failed: ${String(err)}`));
    const interval = this.options?.pollIntervalMs ?? 0;
    if (interval > 0) {
      this.timer = setInterval(() => {
        this.check().catch((err: unknown) => this.log(`key rotation check failed: ${String(err)}`));
      }, interval);
      this.timer.unref();
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.pending.clear();
  }

  /** Looks for newer key versions (one check at a time); returns how many were scheduled. */
  check(): Promise<number> {
    this.inFlight ??= this.runCheck().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async runCheck(): Promise<number> {
    const resolver = this.options?.latestKeyVersion;
    if (!resolver) return 0;
    let scheduled = 0;
    for (const cache of this.store.rotatingCaches()) {
      const { versionless, version } = splitKeyUrl(cache.keyEncryptionKey?.keyUrl ?? '');
      let latest: string | undefined;
      try {
        latest = await resolver(versionless);
      } catch (err) {
        this.log(`cache ${cache.name}: could not read the latest version of ${versionless}: ${String(err)}`);
        continue;
      }
      const id = cacheKey(cache);
      if (!latest || latest === version || this.pending.get(id)?.version === latest) continue;
      this.pending.set(id, {
        cache,
        versionless,
        version: latest,
        dueAt: this.now().getTime() + (this.options?.delayMs ?? 0),
      });
      scheduled++;
    }
    this.applyDue();
    return scheduled;
  }

  /** Moves caches whose scheduled version is due to it (unless the key was changed meanwhile). */
  applyDue(): void {
    const now = this.now().getTime();
    for (const [id, due] of this.pending) {
      if (due.dueAt > now) continue;
      this.pending.delete(id);
      const { subscriptionId, resourceGroup, name } = due.cache;
      const current = this.store.getCache(subscriptionId, resourceGroup, name);
      const key = current?.keyEncryptionKey;
      if (!current?.rotationToLatestKeyVersionEnabled || !key || splitKeyUrl(key.keyUrl).versionless !== due.versionless) {
        continue;
      }
      this.store.updateCache(
        { subscriptionId, resourceGroup, name },
        { keyEncryptionKey: { ...key, keyUrl: `${due.versionless}/${due.version}` } },
      );
      this.log(`cache ${name} now uses key version ${due.version}`);
    }
  }
}
