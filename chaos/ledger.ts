// Every acknowledged write — the API's 200 answer, or a real NBD client's completed write through
// `blackstart attach` (qemu-io printed `wrote N/N bytes` and exited 0) — and the read-back that
// finds the ones lost. An NBD write has no writeSeq to compare: like every write, it is checked
// by reading its bytes back. Writes never overlap, so each one is checked on its own.
import type { BlackstartClient } from '../cli/client.js';
import type { WritePath } from './scenario.js';

export interface AckedWrite {
  volumeId: string;
  offset: number;
  data: Buffer;
  via: WritePath;
  /** The API's answer; null for a write through NBD, which does not report one. */
  writeSeq: number | null;
  scenario: number;
}

/** Each write is reported once over the run, in the first read-back that shows it. */
export interface ReadBack {
  /** Bytes read back differ from what was acknowledged. */
  lost: AckedWrite[];
  /** Could not be read at all: the volume does not serve. */
  unreadable: AckedWrite[];
  /** Why the unreadable reads failed, each reason once. */
  errors: Set<string>;
}

const READ_TIMEOUT_MS = 10_000;
const READ_BATCH = 128;

export class Ledger {
  readonly writes: AckedWrite[] = [];
  readonly volumes = new Set<string>();
  private readonly lost = new Set<AckedWrite>();
  private readonly unreadable = new Set<AckedWrite>();

  addVolume(volumeId: string): void {
    this.volumes.add(volumeId);
  }

  record(write: AckedWrite): void {
    this.writes.push(write);
  }

  async readBack(customer: BlackstartClient): Promise<ReadBack> {
    const result: ReadBack = { lost: [], unreadable: [], errors: new Set() };
    const pending = this.writes.filter((w) => !this.lost.has(w));
    // In parallel, so a volume that no longer serves costs one read timeout, not one per write; in
    // batches under the customer's cap on I/O requests in flight (256 by default): a long run has more writes than that.
    const readOne = (w: AckedWrite) =>
      customer.read(w.volumeId, w.offset, w.data.length, AbortSignal.timeout(READ_TIMEOUT_MS)).catch((err: Error) => {
        result.errors.add(err.message);
        return null;
      });
    const reads: (Buffer | null)[] = [];
    for (let i = 0; i < pending.length; i += READ_BATCH) reads.push(...(await Promise.all(pending.slice(i, i + READ_BATCH).map(readOne))));
    for (const [i, w] of pending.entries()) {
      const read = reads[i];
      if (!read) {
        if (!this.unreadable.has(w)) result.unreadable.push(w);
        this.unreadable.add(w);
      } else if (!read.equals(w.data)) {
        this.lost.add(w);
        result.lost.push(w);
      }
    }
    return result;
  }
}
