// The partition benchmark's customer: one loop per volume writing a 4 KiB block a second, each
// block at an offset of its own (never overwritten), waiting as long as a write takes. What it
// keeps: every acknowledged write (to read back at the end), and how long each write waited.
import type { BlackstartClient } from '../cli/client.js';

export const BLOCK = 4096;

export interface AckedWrite {
  volumeId: string;
  offset: number;
  bytes: Buffer;
}

export interface WriterVolume {
  volumeId: string;
  /** 'secondary-cut': its primary is outside the cut router, its secondary inside; 'outside': both copies outside. */
  group: 'secondary-cut' | 'outside';
}

interface Stall {
  volumeId: string;
  group: WriterVolume['group'];
  offset: number;
  startedAt: number;
  seconds: number;
}

export class PartitionWriter {
  readonly acked: AckedWrite[] = [];
  readonly errors = new Map<string, number>();
  private readonly waiting = new Map<string, { startedAt: number; offset: number; group: WriterVolume['group'] }>();
  private readonly latencies: Record<WriterVolume['group'], number[]> = { 'secondary-cut': [], outside: [] };
  private longest: Stall | null = null;
  private stopped = false;
  private loops: Promise<void>[] = [];

  constructor(
    private readonly customer: BlackstartClient,
    private readonly volumeBytes: number,
    private readonly firstBlock: number,
    private readonly intervalMs: number,
  ) {}

  start(volumes: WriterVolume[]): void {
    this.loops = volumes.map((v, i) => this.loop(v, (i * this.intervalMs) / volumes.length));
  }

  /** Stops starting writes and waits (at most `timeoutMs`) for those in flight; returns how many stay unanswered. */
  async stop(timeoutMs: number): Promise<number> {
    this.stopped = true;
    await Promise.race([Promise.all(this.loops), new Promise((r) => setTimeout(r, timeoutMs))]);
    return this.waiting.size;
  }

  /** Writes waiting now, and the longest of them in seconds. */
  inFlight(now = Date.now()): { count: number; longestSeconds: number } {
    let longest = 0;
    for (const w of this.waiting.values()) longest = Math.max(longest, (now - w.startedAt) / 1000);
    return { count: this.waiting.size, longestSeconds: longest };
  }

  /** The write that waited longest (answered or still waiting). */
  longestStall(now = Date.now()): Stall | null {
    let worst = this.longest;
    for (const [volumeId, w] of this.waiting) {
      const seconds = (now - w.startedAt) / 1000;
      if (!worst || seconds > worst.seconds) worst = { volumeId, group: w.group, offset: w.offset, startedAt: w.startedAt, seconds };
    }
    return worst;
  }

  latenciesOf(group: WriterVolume['group']): number[] {
    return this.latencies[group];
  }

  /** Writes of `group` that waited longer than `seconds`, on how many volumes. */
  stalledOver(group: WriterVolume['group'], seconds: number): number {
    return this.latencies[group].filter((s) => s > seconds).length;
  }

  private async loop(v: WriterVolume, delayMs: number): Promise<void> {
    await sleep(delayMs);
    const blocks = Math.floor(this.volumeBytes / BLOCK);
    for (let block = this.firstBlock; block < blocks && !this.stopped; block++) {
      const offset = block * BLOCK;
      const bytes = pattern(`${v.volumeId}@${offset}`, BLOCK);
      const startedAt = Date.now();
      this.waiting.set(v.volumeId, { startedAt, offset, group: v.group });
      try {
        await this.customer.write(v.volumeId, offset, bytes);
        const seconds = (Date.now() - startedAt) / 1000;
        this.acked.push({ volumeId: v.volumeId, offset, bytes });
        this.latencies[v.group].push(seconds);
        if (!this.longest || seconds > this.longest.seconds)
          this.longest = { volumeId: v.volumeId, group: v.group, offset, startedAt, seconds };
      } catch (err) {
        // Not acknowledged: never read back. The next write takes the next block.
        const key = (err as Error).message.slice(0, 120);
        this.errors.set(key, (this.errors.get(key) ?? 0) + 1);
      } finally {
        this.waiting.delete(v.volumeId);
      }
      await sleep(Math.max(0, this.intervalMs - (Date.now() - startedAt)));
    }
  }
}

/** Acknowledged writes that do not read back as written (a failed read counts as lost); a few volumes at a time. */
export async function lostWrites(customer: BlackstartClient, writes: AckedWrite[], concurrency = 8): Promise<string[]> {
  const byVolume = new Map<string, AckedWrite[]>();
  for (const w of writes) byVolume.set(w.volumeId, [...(byVolume.get(w.volumeId) ?? []), w]);
  const queue = [...byVolume.values()];
  const lost: string[] = [];
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      for (const w of next) {
        const data = await customer.read(w.volumeId, w.offset, w.bytes.length).catch(() => Buffer.alloc(0));
        if (!data.equals(w.bytes)) lost.push(`${w.volumeId}@${w.offset}`);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return lost.sort();
}

export function pattern(seed: string, length: number): Buffer {
  const b = Buffer.alloc(length);
  for (let i = 0; i < length; i++) b[i] = seed.charCodeAt(i % seed.length) ^ (i & 0xff) ^ (i >> 8);
  return b;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
