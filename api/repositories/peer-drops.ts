// Primaries' requests to serve alone (peer drops), one row per volume and epoch.
import type { Db } from './db.js';

export async function recordPeerDrop(db: Db, drop: { volumeId: string; epoch: number; requester: string; peer: string }): Promise<void> {
  await db.query(
    `insert into peer_drops (volume_id, epoch, requester, peer) values ($1, $2, $3, $4)
     on conflict (volume_id, epoch) do update set requested_at = now()`,
    [drop.volumeId, drop.epoch, drop.requester, drop.peer],
  );
}

export async function markPeerDropStarted(db: Db, volumeId: string, epoch: number, workflowId: string): Promise<void> {
  await db.query('update peer_drops set workflow_id = $3 where volume_id = $1 and epoch = $2', [volumeId, epoch, workflowId]);
}

/** The nodes some primary named unreachable within the last `windowMs`. */
export async function recentlyAccused(db: Db, windowMs: number): Promise<string[]> {
  const { rows } = await db.query(
    `select distinct peer from peer_drops where requested_at > now() - make_interval(secs => $1::double precision / 1000)`,
    [windowMs],
  );
  return rows.map((r) => r.peer as string);
}

/** The peers dropped from this volume within the last `windowMs`. */
export async function recentlyDroppedPeers(db: Db, volumeId: string, windowMs: number): Promise<string[]> {
  const { rows } = await db.query(
    `select distinct peer from peer_drops
     where volume_id = $1 and workflow_id is not null and requested_at > now() - make_interval(secs => $2::double precision / 1000)`,
    [volumeId, windowMs],
  );
  return rows.map((r) => r.peer as string);
}
