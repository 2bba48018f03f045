// Everything a rejected request must leave as it was: each inventory table (less the columns
// that move on their own), the Temporal Schedules, each node's operation log and idempotency log
// lengths and every file of every volume on every node. Files are re-hashed only when their
// stat changed since the last probe.
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import type pg from 'pg';

/** Columns that change without any request: heartbeats, usage, boot ids, the outbox's delivery attempts. */
const MOVING: Record<string, string[]> = {
  nodes: ['last_heartbeat', 'fresh_until', 'used_bytes', 'boot_id'],
  notifications: ['attempts', 'next_attempt_at', 'delivered_at', 'failed_at', 'last_error'],
};

export type Snapshot = Map<string, string>;

export class StateProbe {
  private sql = '';
  private readonly fileCache = new Map<string, { key: string; hash: string }>();

  constructor(
    private readonly db: pg.Pool,
    private readonly temporal: Client,
    private readonly nodesDir: string,
  ) {}

  /** Builds one query hashing every table of the inventory, each in a stable order. */
  async init(): Promise<void> {
    const { rows } = await this.db.query<{ table_name: string; column_name: string }>(
      `select table_name, column_name from information_schema.columns where table_schema = 'public' order by table_name, ordinal_position`,
    );
    const tables = new Map<string, string[]>();
    for (const r of rows) {
      if ((MOVING[r.table_name] ?? []).includes(r.column_name)) continue;
      tables.set(r.table_name, [...(tables.get(r.table_name) ?? []), r.column_name]);
    }
    this.sql = [...tables]
      .map(([table, columns]) => {
        const cols = columns.map((c) => `"${c}"`).join(', ');
        return `select '${table}' as t, md5(coalesce(string_agg(x::text, '|' order by x::text), '')) as h from (select ${cols} from "${table}") x`;
      })
      .join(' union all ');
  }

  async take(): Promise<Snapshot> {
    const out: Snapshot = new Map();
    const { rows } = await this.db.query<{ t: string; h: string }>(this.sql);
    for (const r of rows) out.set(`table ${r.t}`, r.h);
    out.set('temporal schedules', await this.schedules());
    for (const [k, v] of await this.files()) out.set(k, v);
    return out;
  }

  private async schedules(): Promise<string> {
    const items: string[] = [];
    for await (const s of this.temporal.schedule.list()) {
      items.push(JSON.stringify({ id: s.scheduleId, spec: s.spec, memo: s.memo, paused: s.state.paused }));
    }
    return items.sort().join('\n');
  }

  private async files(): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const node of await readdir(this.nodesDir).catch(() => [] as string[])) {
      const dir = join(this.nodesDir, node);
      for (const log of ['operations.jsonl', 'idempotency.jsonl']) {
        out.set(`${node} ${log} bytes`, String((await stat(join(dir, log)).catch(() => null))?.size ?? 0));
      }
      for (const volume of await readdir(join(dir, 'volumes')).catch(() => [] as string[])) {
        for (const file of await readdir(join(dir, 'volumes', volume)).catch(() => [] as string[])) {
          out.set(`${node} ${volume}/${file}`, await this.hash(join(dir, 'volumes', volume, file)));
        }
      }
    }
    return out;
  }

  private async hash(path: string): Promise<string> {
    const s = await stat(path, { bigint: true }).catch(() => null);
    if (!s) return 'absent';
    const key = `${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
    const cached = this.fileCache.get(path);
    if (cached?.key === key) return cached.hash;
    const hash = createHash('sha256')
      .update(await readFile(path).catch(() => Buffer.alloc(0)))
      .digest('hex');
    this.fileCache.set(path, { key, hash });
    return hash;
  }
}

/** What differs between two snapshots, by name. */
export function changed(before: Snapshot, after: Snapshot): string[] {
  const keys = new Set([...before.keys(), ...after.keys()]);
  return [...keys].filter((k) => before.get(k) !== after.get(k)).sort();
}
