// `enabledButHeld`, judged by a real block client: a qemu-io write through `blackstart attach` to
// a volume whose inventory says I/O is enabled must complete within PROBE_TIMEOUT_MS. Each probe
// writes its own 4 KiB past the scenario writes (PROBE_BASE), so probes never overlap a ledger
// write; an acknowledged probe joins the ledger like any write.
import type { ScenarioAttachments } from './attach.js';
import type { ChaosCluster } from './cluster.js';
import { PROBE_BASE, PROBE_BYTES } from './compound-scenario.js';
import { sleep } from './faults.js';
import type { Finding } from './fleet-invariants.js';
import type { Ledger } from './ledger.js';

/** Longer than a mirror timeout plus the peer-drop a primary asks for when its secondary is gone. */
export const PROBE_TIMEOUT_MS = 20_000;
/** Besides the scenario's own volumes, at most this many others (whose epoch moved since their last probe) each scenario: an attach is a process. */
const OTHERS_PER_SCENARIO = 4;

export interface ProbeState {
  probes: Map<string, { count: number; epoch: number }>;
  ledger: Ledger;
  scenario: number;
}

/** The enabled volumes to probe: the scenario's own, then others whose epoch moved since they were last probed. */
export async function volumesToProbe(
  c: ChaosCluster,
  own: string[],
  probes: ProbeState['probes'],
): Promise<{ id: string; epoch: number; size: number }[]> {
  const { rows } = await c.db.query<{ id: string; epoch: number; size_bytes: string }>(
    `select id, epoch, size_bytes from volumes where state in ('available', 'in-use') and io_state = 'enabled' order by id`,
  );
  const all = rows.map((r) => ({ id: r.id, epoch: r.epoch, size: Number(r.size_bytes) }));
  const mine = all.filter((v) => own.includes(v.id));
  const moved = all.filter((v) => !own.includes(v.id) && probes.has(v.id) && probes.get(v.id)!.epoch !== v.epoch);
  return [...mine, ...moved.slice(0, OTHERS_PER_SCENARIO)];
}

/** One probe write per volume, in parallel; a write not acknowledged in time is a finding. */
export async function probeWrites(
  attachments: ScenarioAttachments,
  volumes: { id: string; epoch: number; size: number }[],
  state: ProbeState,
): Promise<Finding[]> {
  const found = await Promise.all(volumes.map((v) => probeOne(attachments, v, state)));
  return found.filter((f): f is Finding => f !== null);
}

async function probeOne(
  attachments: ScenarioAttachments,
  v: { id: string; epoch: number; size: number },
  state: ProbeState,
): Promise<Finding | null> {
  const count = state.probes.get(v.id)?.count ?? 0;
  const offset = PROBE_BASE + count * PROBE_BYTES;
  if (offset + PROBE_BYTES > v.size) return null; // no room left for probes (a volume of a single-fault run)
  state.probes.set(v.id, { count: count + 1, epoch: v.epoch });
  const key = `${v.id}@${v.epoch}`;
  try {
    await attachments.attach(v.id);
  } catch (err) {
    return { key, text: `${v.id}: blackstart attach did not start: ${(err as Error).message.split('\n')[0]}` };
  }
  const pattern = 1 + (count % 255);
  const outcome = await Promise.race([attachments.write(v.id, pattern, offset, PROBE_BYTES), sleep(PROBE_TIMEOUT_MS).then(() => null)]);
  if (!outcome) return { key, text: `${v.id}: a write through blackstart attach was not answered within ${PROBE_TIMEOUT_MS / 1000} s` };
  if (!outcome.acknowledged)
    return { key, text: `${v.id}: a write through blackstart attach failed (exit ${outcome.code}): ${outcome.output.slice(0, 300)}` };
  state.ledger.record({
    volumeId: v.id,
    offset,
    data: Buffer.alloc(PROBE_BYTES, pattern),
    via: 'nbd',
    writeSeq: null,
    scenario: state.scenario,
  });
  return null;
}
