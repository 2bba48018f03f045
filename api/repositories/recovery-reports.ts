// Recovery reports kept in the inventory, one row per reported copy: a server recovery's history
// carries the report's id and size, and its activities read the copies page by page.
import type { Classification, ScannedReplica } from '../../common/types.js';
import type { Db } from './db.js';

/** A report older than this is no longer read by any recovery. */
const KEEP_DAYS = 7;

export async function storeReport(db: Db, reportId: string, nodeId: string, replicas: ScannedReplica[]): Promise<void> {
  await db.query(
    `insert into recovery_reports (report_id, node_id, volume_id, copy)
     select $1, $2, r->>'volumeId', r from jsonb_array_elements($3::jsonb) r`,
    [reportId, nodeId, JSON.stringify(replicas)],
  );
}

export async function dropReport(db: Db, reportId: string): Promise<void> {
  await db.query('delete from recovery_reports where report_id = $1', [reportId]);
}

export async function pruneReports(db: Db): Promise<void> {
  await db.query(`delete from recovery_reports where stored_at < now() - interval '${KEEP_DAYS} days'`);
}

/** Copies `offset` … `offset + limit - 1` of a report, in volume order. */
export async function reportPage(db: Db, reportId: string, offset: number, limit: number): Promise<ScannedReplica[]> {
  const { rows } = await db.query('select copy from recovery_reports where report_id = $1 order by volume_id offset $2 limit $3', [
    reportId,
    offset,
    limit,
  ]);
  return rows.map((r) => r.copy as ScannedReplica);
}

export interface StoredClassification {
  volumeId: string;
  classification: Classification;
  volumeEpoch: number;
  expectedNodes: string[];
}

export async function recordClassifications(db: Db, reportId: string, classified: StoredClassification[]): Promise<void> {
  await db.query(
    `update recovery_reports r
     set classification = c.classification, volume_epoch = c.epoch, expected_nodes = array(select jsonb_array_elements_text(c.expected::jsonb))
     from unnest($2::text[], $3::text[], $4::int[], $5::text[]) as c(volume_id, classification, epoch, expected)
     where r.report_id = $1 and r.volume_id = c.volume_id`,
    [
      reportId,
      classified.map((c) => c.volumeId),
      classified.map((c) => c.classification),
      classified.map((c) => c.volumeEpoch),
      classified.map((c) => JSON.stringify(c.expectedNodes)),
    ],
  );
}

/** The classified copies of a report among `volumeIds`, as the investigation left them. */
export async function classifiedCopies(
  db: Db,
  reportId: string,
  volumeIds: string[],
): Promise<(StoredClassification & { copy: ScannedReplica })[]> {
  const { rows } = await db.query(
    `select volume_id, copy, classification, volume_epoch, expected_nodes from recovery_reports
     where report_id = $1 and volume_id = any($2::text[]) and classification is not null order by volume_id`,
    [reportId, volumeIds],
  );
  return rows.map((r) => ({
    volumeId: r.volume_id as string,
    copy: r.copy as ScannedReplica,
    classification: r.classification as Classification,
    volumeEpoch: Number(r.volume_epoch),
    expectedNodes: (r.expected_nodes as string[] | null) ?? [],
  }));
}
