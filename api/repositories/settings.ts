// Operator-tunable settings that override the start-up configuration while the cluster runs.
import type { Db, Tx } from './db.js';

export interface ThrottleSettings {
  maxConcurrentRecoveries: number;
  massOutageShare: number;
}

export async function readThrottle(db: Db | Tx, defaults: ThrottleSettings): Promise<ThrottleSettings> {
  const { rows } = await db.query(`select value from settings where key = 'throttle'`);
  return { ...defaults, ...(rows[0]?.value as Partial<ThrottleSettings> | undefined) };
}

export async function writeThrottle(db: Db, value: ThrottleSettings): Promise<void> {
  await db.query(
    `insert into settings (key, value) values ('throttle', $1) on conflict (key) do update set value = excluded.value`,
    [JSON.stringify(value)],
  );
}
