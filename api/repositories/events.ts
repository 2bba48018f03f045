// Volume events in the shape of EBS DescribeVolumeStatus events, with start and end times.
import type { Db, Tx } from './db.js';

/** The EBS event a recovered volume carries until I/O is enabled again. */
export const INCONSISTENCY_EVENT = 'potential-data-inconsistency';

export interface VolumeEventRow {
  id: number;
  volumeId: string;
  code: string;
  description: string;
  proof: string | null;
  startedAt: Date;
  endedAt: Date | null;
}

function toRow(r: Record<string, unknown>): VolumeEventRow {
  return {
    id: Number(r.id),
    volumeId: r.volume_id as string,
    code: r.code as string,
    description: r.description as string,
    proof: (r.proof as string | null) ?? null,
    startedAt: r.started_at as Date,
    endedAt: (r.ended_at as Date | null) ?? null,
  };
}

/** Opens an event unless one with the same code is already open for the volume. */
export async function openEvent(db: Db | Tx, volumeId: string, code: string, description: string): Promise<void> {
  await db.query(
    `insert into volume_events (volume_id, code, description)
     select $1, $2, $3 where not exists (select 1 from volume_events where volume_id = $1 and code = $2 and ended_at is null)`,
    [volumeId, code, description],
  );
}

/** Ends the open event with this code, giving its final description and the proof behind it. */
export async function endEvent(db: Db | Tx, volumeId: string, code: string, description: string, proof: string | null): Promise<void> {
  await db.query(
    `update volume_events set description = $3, proof = $4, ended_at = now()
     where volume_id = $1 and code = $2 and ended_at is null`,
    [volumeId, code, description, proof],
  );
}

/** Records a finished event (start = end): a failover, a deletion, an automatic decision. */
export async function recordEvent(db: Db | Tx, volumeId: string, code: string, description: string, proof: string | null = null): Promise<void> {
  await db.query(
    `insert into volume_events (volume_id, code, description, proof, ended_at) values ($1, $2, $3, $4, now())`,
    [volumeId, code, description, proof],
  );
}

export async function listEvents(db: Db, volumeId: string): Promise<VolumeEventRow[]> {
  const { rows } = await db.query('select * from volume_events where volume_id = $1 order by id', [volumeId]);
  return rows.map(toRow);
}
