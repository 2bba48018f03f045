// The one-time move of an inventory from PGlite (the embedded database before PostgreSQL 18) to
// PostgreSQL: recognizing a PGlite data dir, and copying every table of it.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { inTransaction, migrate, type Db, type Tx } from '../api/repositories/db.js';

const PG_CONTROL_VERSION_18 = 1800;
/** ControlFileData.float8ByVal in a version-1800 pg_control (the same offset on x86-64 and wasm32). */
const FLOAT8_BYVAL_OFFSET = 0xf8;
const BATCH_ROWS = 2000;

/**
 * PGlite 0.5 writes a PostgreSQL 18 data dir (PG_VERSION says 18, like ours), but as a 32-bit
 * WebAssembly build: its pg_control says float8 is passed by reference, which no 64-bit server
 * accepts ("database files are incompatible with server"). That flag tells the two apart.
 */
export async function isPgliteDataDir(dir: string): Promise<boolean> {
  const control = await readFile(join(dir, 'global', 'pg_control')).catch(() => null);
  if (!control || control.length <= FLOAT8_BYVAL_OFFSET) return false;
  return control.readUInt32LE(8) === PG_CONTROL_VERSION_18 && control[FLOAT8_BYVAL_OFFSET] === 0;
}

/**
 * Copies the inventory in the PGlite dir `from` into the empty database `to`, with the same
 * migrations applied to both first (the API's, so an older PGlite schema is brought up to date
 * exactly as the API would have at its next boot). Returns each table's row count; throws, with
 * nothing committed on `to`, if any table's count differs afterwards.
 */
export async function copyPgliteInventory(from: string, to: Db): Promise<Record<string, number>> {
  const lite = await PGlite.create({ dataDir: from });
  try {
    await migrate(asPool(lite));
    await migrate(to);
    const tables = await tableNames(lite);
    const targetTables = new Set((await to.query<{ name: string }>(TABLES)).rows.map((r) => r.name));
    const missing = tables.filter((t) => !targetTables.has(t));
    if (missing.length) throw new Error(`tables ${missing.join(', ')} exist in PGlite but not in the migrated schema`);
    await inTransaction(to, async (tx) => {
      // Rows arrive table by table, not in foreign-key order; they were checked where they were written.
      await tx.query('set local session_replication_role = replica');
      await tx.query(`truncate ${tables.map((t) => pg.escapeIdentifier(t)).join(', ')}`);
      for (const table of tables) await copyTable(lite, tx, table);
      await copySequences(lite, tx);
    });
    return await compareCounts(lite, to, tables);
  } finally {
    await lite.close();
  }
}

const TABLES = `select tablename as name from pg_tables where schemaname = 'public' order by tablename`;

async function tableNames(lite: PGlite): Promise<string[]> {
  return (await lite.query<{ name: string }>(TABLES)).rows.map((r) => r.name);
}

/** Rows travel as JSON text, so every type (bigint, bytea, jsonb, timestamptz) keeps its exact value. */
async function copyTable(lite: PGlite, tx: Tx, table: string): Promise<void> {
  const name = pg.escapeIdentifier(table);
  for (let offset = 0; ; offset += BATCH_ROWS) {
    const { rows } = await lite.query<{ batch: string | null }>(
      `select json_agg(t)::text as batch from (select * from ${name} order by ctid limit ${BATCH_ROWS} offset ${offset}) t`,
    );
    const batch = rows[0]?.batch;
    if (!batch) return;
    await tx.query(`insert into ${name} select * from json_populate_recordset(null::${name}, $1::json)`, [batch]);
  }
}

/** Each sequence continues where PGlite's left off (a bigserial id is never handed out twice). */
async function copySequences(lite: PGlite, tx: Tx): Promise<void> {
  const { rows } = await lite.query<{ name: string; last: string | null }>(
    `select quote_ident(sequencename) as name, last_value::text as last from pg_sequences where schemaname = 'public'`,
  );
  for (const s of rows) if (s.last !== null) await tx.query('select setval($1::regclass, $2::bigint, true)', [s.name, s.last]);
}

async function compareCounts(lite: PGlite, to: Db, tables: string[]): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of tables) {
    const sql = `select count(*)::int as n from ${pg.escapeIdentifier(table)}`;
    const [source, target] = [(await lite.query<{ n: number }>(sql)).rows[0]!.n, (await to.query<{ n: number }>(sql)).rows[0]!.n];
    if (source !== target) throw new Error(`table ${table}: ${source} rows in PGlite, ${target} copied`);
    counts[table] = source;
  }
  return counts;
}

/**
 * PGlite behind the two calls `migrate` makes of a pool (connect, then query and release), so the
 * API's own migration runner brings the PGlite schema up to date. A query without parameters may
 * hold several statements, as with pg's simple protocol.
 */
function asPool(lite: PGlite): Db {
  const client = {
    query: async (sql: string, params?: unknown[]) => (params ? lite.query(sql, params) : ((await lite.exec(sql)).at(-1) ?? { rows: [] })),
    release: () => undefined,
  };
  return { connect: async () => client } as unknown as Db;
}
