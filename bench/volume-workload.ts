// The benchmarks' workload: volumes created and written with a pattern of their own, and that
// pattern read back after the outage.
import type { BlackstartClient } from '../cli/client.js';
import { Progress } from './progress.js';

export interface Workload {
  volumeBytes: number;
  writeBytes: number;
  /** Requests in flight at once: the API's pace, not the harness's. */
  concurrency: number;
  label: string;
}

/** A read the API has not answered by then is counted apart (it is held somewhere, not lost). */
const READ_BACK_TIMEOUT_MS = 30_000;

/** Creates `count` volumes and writes each one's pattern at offset 0. */
export async function placeVolumes(customer: BlackstartClient, count: number, w: Workload): Promise<string[]> {
  const progress = new Progress(`${w.label}: volumes placed and written`, count);
  const volumes: string[] = [];
  await lanes(count, w.concurrency, async () => {
    const { volumeId } = await customer.createVolume(w.volumeBytes, true);
    await customer.write(volumeId, 0, payload(volumeId, w.writeBytes));
    volumes.push(volumeId);
    progress.update(volumes.length);
  });
  progress.done();
  return volumes;
}

/** Reads back every volume's pattern: `lost` when the bytes differ, `unanswered` (the volumes) when no answer came in time. */
export async function readBack(
  customer: BlackstartClient,
  volumes: string[],
  w: Workload,
): Promise<{ lost: number; unanswered: string[] }> {
  const progress = new Progress(`${w.label}: acknowledged writes read back`, volumes.length);
  let lost = 0;
  let done = 0;
  const unanswered: string[] = [];
  await lanes(volumes.length, w.concurrency, async (i) => {
    const v = volumes[i]!;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), READ_BACK_TIMEOUT_MS)));
    const data = await Promise.race([customer.read(v, 0, w.writeBytes).catch(() => Buffer.alloc(0)), timeout]);
    clearTimeout(timer);
    if (data === null) unanswered.push(v);
    else if (!data.equals(payload(v, w.writeBytes))) lost++;
    progress.update(++done);
  });
  progress.done();
  return { lost, unanswered };
}

function payload(volumeId: string, bytes: number): Buffer {
  const b = Buffer.alloc(bytes);
  for (let i = 0; i < b.length; i++) b[i] = volumeId.charCodeAt(i % volumeId.length) ^ (i & 0xff);
  return b;
}

/** Runs `job(0 … count-1)` with at most `concurrency` in flight. */
export async function lanes(count: number, concurrency: number, job: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < count) await job(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
}
