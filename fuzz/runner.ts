// The loop: for each index, generate the case, take the state before (fresh after anything was
// accepted, once the cluster settled), send it, judge it. One cluster for the whole run.
import { describeCase } from './cases.js';
import { generateCase } from './generator.js';
import { judgeHttp, type Judging, type Verdict } from './judge-http.js';
import { judgeNbd } from './judge-nbd.js';
import { emptyReport, summaryLine, type FuzzReport } from './report.js';
import { StateProbe, changed, type Snapshot } from './state.js';
import type { World } from './world.js';
import { join } from 'node:path';

export interface RunOptions {
  seed: number;
  indices: number[];
  timeoutMs: number;
  progress: (line: string) => void;
  /** Print every case as it is sent. */
  verbose: boolean;
}

const SETTLE_MS = 20_000;
const PROGRESS_EVERY = 250;

export async function runFuzz(w: World, opts: RunOptions): Promise<FuzzReport> {
  const started = Date.now();
  const report = emptyReport(opts.seed, w.scratch.cluster.opts.dir);
  const probe = new StateProbe(w.scratch.db, w.temporal, join(w.scratch.cluster.opts.dir, 'nodes'));
  await probe.init();
  const j: Judging = { w, report, probe, timeoutMs: opts.timeoutMs, onFailure: opts.progress };
  let before: Snapshot | null = null;
  for (const [n, index] of opts.indices.entries()) {
    const c = generateCase(opts.seed, index);
    if (opts.verbose) opts.progress(`#${index} ${describeCase(c)}`);
    before ??= await settle(w, probe, opts.progress);
    const verdict: Verdict = c.type === 'http' ? await judgeHttp(j, c, before) : await judgeNbd(j, c, before);
    before = verdict.next === 'state' ? verdict.state : verdict.next === 'probe' ? await probe.take() : null;
    if ((n + 1) % PROGRESS_EVERY === 0) {
      report.seconds = (Date.now() - started) / 1000;
      opts.progress(`[${n + 1}/${opts.indices.length}] ${summaryLine(report)}`);
    }
  }
  report.seconds = (Date.now() - started) / 1000;
  return report;
}

/**
 * Waits until what an accepted request started is over — volumes created or deleted, snapshots
 * taken — and three probes in a row agree, then returns that state.
 */
async function settle(w: World, probe: StateProbe, progress: (line: string) => void): Promise<Snapshot> {
  const deadline = Date.now() + SETTLE_MS;
  let last = await probe.take();
  let stable = 0;
  for (;;) {
    const busy = await pendingWork(w);
    if (!busy && stable >= 2) return last;
    if (Date.now() > deadline) {
      progress(
        `fuzz: the cluster did not settle in ${SETTLE_MS / 1000} s (${busy ?? `still changing: ${changed(last, await probe.take()).join(', ')}`}); going on`,
      );
      return probe.take();
    }
    await new Promise((r) => setTimeout(r, 150));
    const next = await probe.take();
    stable = changed(last, next).length ? 0 : stable + 1;
    last = next;
  }
}

async function pendingWork(w: World): Promise<string | null> {
  const { rows } = await w.scratch.db.query<{ what: string }>(
    `select 'volume ' || id || ' ' || state as what from volumes where state in ('creating', 'deleting')
     union all select 'snapshot ' || id as what from snapshots where state = 'pending' limit 5`,
  );
  return rows.length ? rows.map((r) => r.what).join(', ') : null;
}
