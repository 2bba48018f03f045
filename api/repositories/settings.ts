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
