// Following a volume's primary at a cost per volume, not per request. Every in-flight request
// for a volume shares one watch: one inventory load every `intervalMs` while any request is in
// flight (none otherwise), and loads asked for between ticks are shared by everyone waiting.
import type { ReplicaRow, VolumeRow } from '../repositories/volumes.js';

export interface Route {
  volume: VolumeRow | null;
  primary: ReplicaRow | null;
}

export type RouteLoader = (volumeId: string) => Promise<Route>;

export interface WatchEntry {
  users: number;
  last: Route | null;
  loadedAt: number;
  loading: Promise<Route> | null;
  listeners: Set<(route: Route) => void>;
  timer: NodeJS.Timeout;
}

export class VolumeWatch {
  private readonly entries = new Map<string, WatchEntry>();

  constructor(
    private readonly load: RouteLoader,
    private readonly intervalMs = 2000,
  ) {}

  /** Registers one in-flight request for `volumeId`; close the handle when it is answered. */
  open(volumeId: string): WatchHandle {
    let entry = this.entries.get(volumeId);
    if (!entry) {
      const timer = setInterval(() => void this.refresh(volumeId, entry!).catch(() => undefined), this.intervalMs);
      entry = { users: 0, last: null, loadedAt: 0, loading: null, listeners: new Set(), timer };
      this.entries.set(volumeId, entry);
    }
    entry.users += 1;
    return new WatchHandle(this, volumeId, entry);
  }

  /** Volumes watched now (for tests and metrics). */
  get watched(): number {
    return this.entries.size;
  }

  /** The route as loaded at or after `since` (ms epoch): a load in progress or a new one, shared. */
  route(volumeId: string, entry: WatchEntry, since: number): Promise<Route> {
    if (entry.loading) return entry.loading;
    if (entry.last && entry.loadedAt >= since) return Promise.resolve(entry.last);
    return this.refresh(volumeId, entry);
  }

  close(volumeId: string, entry: WatchEntry): void {
    entry.users -= 1;
    if (entry.users > 0) return;
    clearInterval(entry.timer);
    this.entries.delete(volumeId);
  }

  private refresh(volumeId: string, entry: WatchEntry): Promise<Route> {
    if (entry.loading) return entry.loading;
    const loading = this.load(volumeId).then((route) => {
      entry.last = route;
      entry.loadedAt = Date.now();
      for (const listener of entry.listeners) listener(route);
      return route;
    });
    entry.loading = loading;
    void loading.catch(() => undefined).finally(() => (entry.loading = null));
    return loading;
  }
}

export class WatchHandle {
  private closed = false;

  constructor(
    private readonly watch: VolumeWatch,
    private readonly volumeId: string,
    private readonly entry: WatchEntry,
  ) {}

  /** The route loaded at or after `since`. */
  route(since: number): Promise<Route> {
    return this.watch.route(this.volumeId, this.entry, since);
  }

  /** Calls `listener` with every route the watch loads until the returned function is called. */
  onLoad(listener: (route: Route) => void): () => void {
    this.entry.listeners.add(listener);
    return () => this.entry.listeners.delete(listener);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.watch.close(this.volumeId, this.entry);
  }
}
