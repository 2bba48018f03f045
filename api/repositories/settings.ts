// Operator-tunable settings that override the start-up configuration while the cluster runs.
import type { Db, Tx } from './db.js';

export interface ThrottleSettings {
  maxConcurrentRecoveries: number;
  massOutageShare: number;
}

export async function readThrottle(db: Db | Tx, defaults: ThrottleSettings): Promise<ThrottleSettings> {
  const { rows } = await db.query(`select value from settings where key = 'throttle'`);
  const set = (rows[0]?.value ?? {}) as Partial<ThrottleSettings>;
  // Only the two settings: `defaults` is often the whole configuration, secrets included.
  return {
    maxConcurrentRecoveries: set.maxConcurrentRecoveries ?? defaults.maxConcurrentRecoveries,
    massOutageShare: set.massOutageShare ?? defaults.massOutageShare,
  };
}

export async function writeThrottle(db: Db, value: ThrottleSettings): Promise<void> {
  await db.query(`insert into settings (key, value) values ('throttle', $1) on conflict (key) do update set value = excluded.value`, [
    JSON.stringify(value),
  ]);
}

/** The mass-outage breaker's hold-down (`massOutageHold`): until when it holds (ms since the epoch), or null. */
export async function readMassOutageHold(db: Db | Tx): Promise<number | null> {
  const { rows } = await db.query(`select (value->>'until')::bigint as until from settings where key = 'mass-outage-hold'`);
  return rows[0]?.until == null ? null : Number(rows[0].until);
}

/** Extends the hold-down to `until` unless it already lasts longer (concurrent checks never shorten it). */
export async function extendMassOutageHold(db: Db | Tx, until: number): Promise<void> {
  await db.query(
    `insert into settings (key, value) values ('mass-outage-hold', jsonb_build_object('until', $1::bigint))
     on conflict (key) do update set value = jsonb_build_object('until', greatest(coalesce((settings.value->>'until')::bigint, 0), $1::bigint))`,
    [until],
  );
}
