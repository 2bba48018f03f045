// The embedded default database (cluster/embedded-postgres.ts) as `npm start` runs it: every
// connection its own session, a restart after its wrapper was SIGKILLed, and the one-time copy of
// an inventory that PGlite wrote — or a refusal that leaves PGlite's data where it was.
import { existsSync } from 'node:fs';
import { chmod, cp, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../api/repositories/migrations.js';
import { embeddedPostgresProcess, waitForPostgres } from '../../cluster/embedded-postgres-process.js';
import { isPgliteDataDir } from '../../cluster/pglite-migration.js';
import { postgresUrl } from '../../cluster/postgres-server.js';
import { freePort, type ManagedProcess } from '../../cluster/processes.js';

/** A cluster dir as `npm start` has it, and the embedded server on its pgdata. */
class Embedded {
  readonly pgdata: string;
  proc!: ManagedProcess;
  url = '';
  private constructor(readonly dir: string) {
    this.pgdata = join(dir, 'pgdata');
  }
  static async dir(): Promise<Embedded> {
    const dir = await mkdtemp(join(tmpdir(), 'blackstart-embedded-'));
    await chmod(dir, 0o755); // as root the server runs as `postgres`, which must reach its data dir
    return new Embedded(dir);
  }
  async start(): Promise<void> {
    const spec = { dataDir: this.pgdata, port: await freePort(), password: 'secret', logDir: this.dir };
    this.url = postgresUrl(spec.port, spec.password);
    this.proc = embeddedPostgresProcess(spec);
    this.proc.start();
    await waitForPostgres(this.url, this.proc);
  }
  async query<T extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<T[]> {
    const client = new pg.Client({ connectionString: this.url });
    await client.connect();
    try {
      return (await client.query<T>(sql, params)).rows;
    } finally {
      await client.end();
    }
  }
  log(): Promise<string> {
    return readFile(join(this.dir, 'postgres.log'), 'utf8');
  }
  async remove(): Promise<void> {
    await this.proc?.stop();
    await rm(this.dir, { recursive: true, force: true });
  }
}

function postmasters(pgdata: string): Promise<number> {
  return readdir('/proc').then(async (pids) => {
    let n = 0;
    for (const pid of pids.filter((p) => /^\d+$/.test(p))) {
      const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
      if (argv[0]?.endsWith('/postgres') && argv[argv.indexOf('-D') + 1] === pgdata) n++;
    }
    return n;
  });
}

describe('the embedded PostgreSQL on a new cluster dir', () => {
  let e: Embedded;
  beforeAll(async () => {
    e = await Embedded.dir();
    await e.start();
  });
  afterAll(() => e.remove());

  it('gives each of 20 concurrent connections its own session: parameterized statements never mix', async () => {
    const clients = Array.from({ length: 20 }, () => new pg.Client({ connectionString: e.url }));
    await Promise.all(clients.map((c) => c.connect()));
    try {
      await Promise.all(
        clients.map(async (client, i) => {
          for (let round = 0; round < 40; round++) {
            const params = Array.from({ length: 1 + ((i + round) % 5) }, (_, k) => `${i}.${round}.${k}`);
            const sql = `select array[${params.map((_, k) => `$${k + 1}::text`).join(', ')}] as got`;
            const { rows } = await client.query<{ got: string[] }>(sql, params);
            expect(rows[0]!.got).toEqual(params);
          }
        }),
      );
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
  });

  it('starts again on the same data after its wrapper was SIGKILLed, leaving one server', async () => {
    await e.query('create table kept (v text)');
    await e.query(`insert into kept values ('before the kill')`);
    await e.proc.kill();
    await e.start();
    expect(await e.query('select v from kept')).toEqual([{ v: 'before the kill' }]);
    expect(await e.log()).toContain('still serves');
    expect(await postmasters(e.pgdata)).toBe(1);
  });

  it('stops its server on SIGTERM', async () => {
    await e.proc.stop();
    expect(await postmasters(e.pgdata)).toBe(0);
    expect(existsSync(join(e.pgdata, 'postmaster.pid'))).toBe(false);
  });
});

describe('an inventory PGlite wrote', () => {
  const dirs: Embedded[] = [];
  let template = '';
  // What an older Blackstart (only the first two migrations) wrote with PGlite; each test copies it.
  beforeAll(async () => {
    template = await mkdtemp(join(tmpdir(), 'blackstart-pglite-'));
    const lite = await PGlite.create({ dataDir: template });
    await lite.exec('create table schema_migrations (id text primary key, applied_at timestamptz not null default now())');
    for (const m of MIGRATIONS.slice(0, 2)) {
      await lite.exec(m.sql);
      await lite.query('insert into schema_migrations (id) values ($1)', [m.id]);
    }
    await lite.exec(
      `insert into customers (id, name) values ('c1', 'Ada'), ('c2', 'Grace');
       insert into api_keys (key_hash, customer_id) values ('h1', 'c1');
       insert into volumes (id, customer_id, size_bytes, state, auto_enable_io)
         values ('v1', 'c1', 8388608, 'available', true), ('v2', 'c2', 9007199254740993, 'deleted', false);
       insert into volume_events (volume_id, code, description) values ('v1', 'a', 'one'), ('v1', 'b', 'two'), ('v2', 'c', 'three');
       insert into settings (key, value) values ('policy', '{"every": "1h", "keep": [1, 2]}');`,
    );
    await lite.close();
  });
  afterEach(async () => {
    await Promise.all(dirs.splice(0).map((d) => d.remove()));
  });
  afterAll(() => rm(template, { recursive: true, force: true }));

  async function pgliteClusterDir(): Promise<Embedded> {
    const e = await Embedded.dir();
    dirs.push(e);
    await cp(template, e.pgdata, { recursive: true });
    return e;
  }

  it('is copied to PostgreSQL once, brought to the current schema, and PGlite’s dir is set aside', async () => {
    const e = await pgliteClusterDir();
    expect(await isPgliteDataDir(e.pgdata)).toBe(true);
    await e.start();

    expect(await e.query('select id, name from customers order by id')).toEqual([
      { id: 'c1', name: 'Ada' },
      { id: 'c2', name: 'Grace' },
    ]);
    expect(await e.query(`select id, size_bytes::text as size from volumes order by id`)).toEqual([
      { id: 'v1', size: '8388608' },
      { id: 'v2', size: '9007199254740993' },
    ]);
    expect(await e.query(`select value from settings`)).toEqual([{ value: { every: '1h', keep: [1, 2] } }]);
    expect((await e.query<{ id: string }>('select id from schema_migrations order by id')).map((r) => r.id)).toEqual(
      MIGRATIONS.map((m) => m.id),
    );
    // The sequence goes on where PGlite's stopped: no event id is handed out twice.
    const [next] = await e.query<{ id: string }>(
      `insert into volume_events (volume_id, code, description) values ('v2', 'd', 'four') returning id::text`,
    );
    expect(next!.id).toBe('4');

    const aside = (await readdir(e.dir)).filter((f) => f.startsWith('pgdata-pglite-'));
    expect(aside).toHaveLength(1);
    expect(await isPgliteDataDir(join(e.dir, aside[0]!))).toBe(true);
    expect(await isPgliteDataDir(e.pgdata)).toBe(false);
    expect(await e.log()).toContain(`PGlite's data dir is kept at ${join(e.dir, aside[0]!)}`);

    await e.proc.stop();
    await e.start();
    expect(await e.query('select count(*)::int as n from volume_events')).toEqual([{ n: 4 }]);
    expect((await readdir(e.dir)).filter((f) => f.startsWith('pgdata-pglite-'))).toHaveLength(1);
  });

  it('that cannot be copied is refused with what to do, and left in place', async () => {
    const e = await pgliteClusterDir();
    // A table no migration knows (made by hand): the copy would lose it, so there is none.
    let lite = await PGlite.create({ dataDir: e.pgdata });
    await lite.exec('create table hand_made (id integer)');
    await lite.close();

    await expect(e.start()).rejects.toThrow(/exited/);
    const log = await e.log();
    expect(log).toContain('copying it to PostgreSQL 18 failed: tables hand_made exist in PGlite but not in the migrated schema');
    expect(log).toContain("Nothing was deleted: PGlite's data stays in");
    expect(log).toContain('DATABASE_URL');
    expect(await readdir(e.dir)).not.toContain('pgdata-migrating');
    lite = await PGlite.create({ dataDir: e.pgdata });
    expect((await lite.query('select id from customers order by id')).rows).toEqual([{ id: 'c1' }, { id: 'c2' }]);
    await lite.close();
  });
});
