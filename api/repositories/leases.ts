// Leases for the API's background tasks that must run in one process at a time, however many
// API processes there are: a Postgres session advisory lock, held on a connection of its own.
// The lock lives exactly as long as that connection, so a holder that dies (SIGKILL included:
// the kernel closes its socket and its backend ends) releases it, and another process takes it
// at its next try.
import pg from 'pg';
import { logger } from '../../common/log.js';

/** Advisory-lock keys; one per task (7233001 is the migrations' transaction lock). */
export const LEASES = { heartbeatMonitor: 7233101 } as const;

export interface Lease {
  /** Whether this process holds the lease now (as of its last check). */
  readonly held: boolean;
  /** When this process last acquired it (ms since the epoch), or null. */
  readonly since: number | null;
  release(): Promise<void>;
}

/** Tries to take (or confirms it still holds) the lease every `checkMs`, until released. */
export function holdLease(databaseUrl: string, key: number, name: string, checkMs: number): Lease {
  const log = logger({ component: 'lease', lease: name });
  let client: pg.Client | null = null;
  let state: { held: boolean; since: number | null } = { held: false, since: null };
  let stopped = false;
  let checking = false;

  const drop = (c: pg.Client) => {
    if (client !== c) return;
    client = null;
    if (state.held) log.warn(`lease ${name}: lost its connection; released`);
    state = { held: false, since: null };
    void c.end().catch(() => undefined);
  };
  const check = async () => {
    if (!client) {
      const c = new pg.Client({ connectionString: databaseUrl });
      c.on('error', () => drop(c));
      client = c;
      await c.connect();
    }
    const c = client;
    if (state.held) return void (await c.query('select 1')); // still connected: still held
    const { rows } = await c.query<{ ok: boolean }>('select pg_try_advisory_lock($1) as ok', [key]);
    if (rows[0]!.ok && !stopped) {
      state = { held: true, since: Date.now() };
      log.info(`lease ${name}: acquired by this process`);
    }
  };
  const tick = () => {
    if (checking || stopped) return;
    checking = true;
    check()
      .catch(() => client && drop(client))
      .finally(() => (checking = false));
  };
  const timer = setInterval(tick, checkMs);
  tick();

  return {
    get held() {
      return state.held;
    },
    get since() {
      return state.since;
    },
    async release() {
      stopped = true;
      clearInterval(timer);
      const c = client;
      client = null;
      state = { held: false, since: null };
      await c?.end().catch(() => undefined); // ending the session releases the lock
    },
  };
}
