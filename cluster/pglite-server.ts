// The embedded Postgres-compatible default: PGlite, file-backed, served over the Postgres wire
// protocol so the API and the workers connect with `pg` exactly as they would to Postgres.
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { Env, runMain } from '../common/config.js';
import { logger } from '../common/log.js';

runMain('pglite', async () => {
  const env = new Env();
  const dataDir = env.string('PGLITE_DATA_DIR');
  const port = env.int('PGLITE_PORT', 5433, 1, 65535);
  env.check();
  const db = await PGlite.create({ dataDir });
  const server = new PGLiteSocketServer({ db, port, host: '127.0.0.1', maxConnections: 64 });
  await server.start();
  logger().info({ dataDir, port }, `pglite serving ${dataDir} on 127.0.0.1:${port}`);
  const shutdown = async () => {
    await server.stop();
    await db.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown());
  process.once('SIGINT', () => void shutdown());
});
