// The harness acting as the volumes' owner: creates and writes volumes (through the API and, by
// a real NBD client, through `blackstart attach`), issues a write while I/O is held, and enables
// I/O when a volume's status asks for the decision.
import type pg from 'pg';
import { INCONSISTENCY_EVENT } from '../api/repositories/events.js';
import type { BlackstartClient } from '../cli/client.js';
import { HttpError } from '../common/http.js';
import type { ScenarioAttachments } from './attach.js';
import type { Ledger } from './ledger.js';
import { Prng } from './prng.js';
import { VOLUME_BYTES, type Scenario, type WritePlan } from './scenario.js';

/**
 * Creates the scenario's volumes, attaches each, and writes them, recording every acknowledged
 * write. A write through NBD that is not acknowledged while every node serves is a harness error.
 */
export async function createAndWrite(
  customer: BlackstartClient,
  attachments: ScenarioAttachments,
  ledger: Ledger,
  s: Pick<Scenario, 'seed' | 'index' | 'volumes'>,
): Promise<string[]> {
  const volumes: string[] = [];
  for (const [v, plan] of s.volumes.entries()) {
    const { volumeId } = await createPatiently(customer, plan.sizeBytes ?? VOLUME_BYTES, plan.autoEnableIo);
    ledger.addVolume(volumeId);
    await attachments.attach(volumeId);
    for (const [w, write] of plan.writes.entries()) {
      if (write.via === 'nbd') {
        const outcome = await attachments.write(volumeId, write.pattern, write.offset, write.length);
        if (!outcome.acknowledged)
          throw new Error(`qemu-io write to ${volumeId} @${write.offset} not acknowledged (exit ${outcome.code}): ${outcome.output}`);
        ledger.record({ volumeId, offset: write.offset, data: patternOf(write), via: 'nbd', writeSeq: null, scenario: s.index });
        continue;
      }
      const data = Prng.of(s.seed, s.index, v + 1, w).bytes(write.length);
      const { writeSeq } = await customer.write(volumeId, write.offset, data);
      ledger.record({ volumeId, offset: write.offset, data, via: 'api', writeSeq, scenario: s.index });
    }
    volumes.push(volumeId);
  }
  return volumes;
}

function patternOf(write: WritePlan): Buffer {
  return Buffer.alloc(write.length, write.pattern);
}

/**
 * A create answered 503 (no two power domains with a fresh heartbeat and room, e.g. while the
 * machine is too busy for heartbeats to keep up) is retried, as its Retry-After invites.
 */
async function createPatiently(
  customer: BlackstartClient,
  sizeBytes: number,
  autoEnableIo: boolean,
): ReturnType<BlackstartClient['createVolume']> {
  const deadline = Date.now() + CREATE_PATIENCE_MS;
  for (;;) {
    try {
      return await customer.createVolume(sizeBytes, autoEnableIo);
    } catch (err) {
      if (!(err instanceof HttpError && err.status === 503) || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

const CREATE_PATIENCE_MS = 30_000;

export type HeldOutcome = 'pending' | 'acknowledged' | 'dropped';

/** The scenario a held write belongs to, and whether it kills the API (then a broken connection is retried). */
export interface HeldWriteRef {
  seed: number;
  index: number;
  apiMayBeKilled: boolean;
}

/**
 * A write issued while the volume's I/O is held. It must be acknowledged once I/O is enabled.
 * Through the API: only when the API process itself was killed is a broken connection retried,
 * as a block client reconnects to its server; any answer that is an error drops the request.
 * Through NBD: qemu-io on the attach endpoint, which follows the volume on its own; qemu-io
 * failing (an error reply) drops it.
 */
export class HeldWrite {
  outcome: HeldOutcome = 'pending';
  error = '';
  retries = 0;
  /** When the write was issued and when it was answered (ms since the epoch; 0 until then). */
  startedAt = 0;
  answeredAt = 0;

  constructor(
    private readonly customer: BlackstartClient,
    private readonly attachments: ScenarioAttachments,
    private readonly ledger: Ledger,
    private readonly s: HeldWriteRef,
    private readonly volumeId: string,
    private readonly plan: WritePlan,
  ) {}

  get via(): WritePlan['via'] {
    return this.plan.via;
  }

  start(): void {
    this.startedAt = Date.now();
    const answered = () => (this.answeredAt ||= Date.now());
    if (this.plan.via === 'nbd') return void this.sendNbd().finally(answered);
    const data = Prng.of(this.s.seed, this.s.index, 0, 0).bytes(this.plan.length);
    void this.send(data).finally(answered);
  }

  /** How long an acknowledged write waited, in seconds; null while unanswered or not acknowledged. */
  get waitedSeconds(): number | null {
    return this.outcome === 'acknowledged' && this.answeredAt ? (this.answeredAt - this.startedAt) / 1000 : null;
  }

  private async sendNbd(): Promise<void> {
    const { pattern, offset, length } = this.plan;
    const outcome = await this.attachments
      .write(this.volumeId, pattern, offset, length)
      .catch((err: Error) => ({ acknowledged: false, output: err.message }));
    if (this.outcome !== 'pending') return;
    if (outcome.acknowledged) {
      this.ledger.record({
        volumeId: this.volumeId,
        offset,
        data: patternOf(this.plan),
        via: 'nbd',
        writeSeq: null,
        scenario: this.s.index,
      });
      this.outcome = 'acknowledged';
    } else {
      this.outcome = 'dropped';
      this.error = `qemu-io: ${outcome.output}`;
    }
  }

  private async send(data: Buffer): Promise<void> {
    for (;;) {
      try {
        const { writeSeq } = await this.customer.write(this.volumeId, this.plan.offset, data);
        this.ledger.record({ volumeId: this.volumeId, offset: this.plan.offset, data, via: 'api', writeSeq, scenario: this.s.index });
        this.outcome = 'acknowledged';
        return;
      } catch (err) {
        if (err instanceof HttpError || !this.s.apiMayBeKilled) {
          this.outcome = 'dropped';
          this.error = (err as Error).message;
          return;
        }
        this.retries++;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }
}

/**
 * Enables I/O on every volume whose status offers `enable-volume-io`, one call per volume at a
 * time. Only a volume with an open inconsistency event can offer it (api/use-cases/volumes.ts),
 * so the status of the others is not asked: a long run has hundreds of volumes.
 */
export class DecidingCustomer {
  private readonly enabling = new Map<string, Promise<void>>();
  /** Requests no API answered (an API process down, and no other took them) since the last `takeUnanswered`. */
  private unanswered = 0;

  constructor(
    private readonly customer: BlackstartClient,
    private readonly db: pg.Pool,
  ) {}

  async decide(volumes: Iterable<string>): Promise<void> {
    const { rows } = await this.db.query<{ volume_id: string }>(
      `select distinct volume_id from volume_events where volume_id = any($1) and code = $2 and ended_at is null`,
      [[...volumes], INCONSISTENCY_EVENT],
    );
    for (const { volume_id: volumeId } of rows) {
      if (this.enabling.has(volumeId)) continue;
      const status = await this.customer.status(volumeId).catch((err: unknown) => this.noteError(err));
      if (!status?.actions.some((a) => a.code === 'enable-volume-io')) continue;
      this.enabling.set(volumeId, this.enable(volumeId));
    }
  }

  takeUnanswered(): number {
    const n = this.unanswered;
    this.unanswered = 0;
    return n;
  }

  private noteError(err: unknown): null {
    if (!(err instanceof HttpError)) this.unanswered++;
    return null;
  }

  private async enable(volumeId: string): Promise<void> {
    try {
      await this.customer.enableIo(volumeId);
    } catch (err) {
      this.noteError(err); // an HTTP answer (still being recovered, the worker away) is asked again on the next pass
    } finally {
      this.enabling.delete(volumeId);
    }
  }
}
