// The offers each incident made to volume recoveries, and which of them are resolved: a server
// recovery is told once, when the last of its offers is resolved, instead of once per copy.
import { inTransaction, type Db } from './db.js';

/** Serializes the resolutions of one incident's offers (two-key advisory locks: a keyspace apart from the single-key ones). */
const RESOLUTION_LOCK = 7233003;

/** The incident offered its copy of the volume (again: nothing changes). */
export async function recordOffered(db: Db, workflowId: string, volumeId: string): Promise<void> {
  await db.query('insert into incident_offers (workflow_id, volume_id) values ($1, $2) on conflict do nothing', [workflowId, volumeId]);
}

/**
 * A volume recovery resolved the incident's offer. `untracked`: the offer was made before offers
 * were recorded. Otherwise whether any offer of the incident is still unresolved. Resolutions of
 * one incident take turns, so of two resolved together the later sees the earlier: the last one
 * always finds none left.
 */
export async function resolveOffer(db: Db, workflowId: string, volumeId: string): Promise<'untracked' | 'more' | 'last'> {
  return inTransaction(db, async (tx) => {
    await tx.query('select pg_advisory_xact_lock($1, hashtext($2))', [RESOLUTION_LOCK, workflowId]);
    const { rowCount } = await tx.query(
      'update incident_offers set resolved_at = coalesce(resolved_at, now()) where workflow_id = $1 and volume_id = $2',
      [workflowId, volumeId],
    );
    if (rowCount === 0) return 'untracked';
    const { rows } = await tx.query('select 1 from incident_offers where workflow_id = $1 and resolved_at is null limit 1', [workflowId]);
    return rows.length === 0 ? 'last' : 'more';
  });
}

/** Which of these volumes' offers by the incident were resolved by their volume recoveries. */
export async function resolvedOffers(db: Db, workflowId: string, volumeIds: string[]): Promise<Set<string>> {
  const { rows } = await db.query<{ volume_id: string }>(
    'select volume_id from incident_offers where workflow_id = $1 and volume_id = any($2) and resolved_at is not null',
    [workflowId, volumeIds],
  );
  return new Set(rows.map((r) => r.volume_id));
}

/** The incident ended: its offers are no longer waited for. */
export async function forgetOffers(db: Db, workflowId: string): Promise<void> {
  await db.query('delete from incident_offers where workflow_id = $1', [workflowId]);
}
