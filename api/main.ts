// The control-plane process: HTTP API, the heartbeat monitor that starts failovers, and the
// notifier that delivers customers' webhooks.
import { Client, Connection } from '@temporalio/client';
import { runMain } from '../common/config.js';
import { logger } from '../common/log.js';
import { temporalConnectOptions } from '../common/temporal-tls.js';
import { boundPort, closeServer, listen } from '../common/listen.js';
import { createApp } from './app.js';
import { createDataPathState } from './use-cases/data-path.js';
import { loadApiConfig } from './config.js';
import { startHeartbeatMonitor } from './heartbeat-monitor.js';
import { openSnapshotStore } from '../snapshot-store/store.js';
import { NodeClient } from './node-client.js';
import { startNotifier } from './notifier.js';
import { ensureRepairSchedule } from './repair-schedule.js';
import { createPool, migrate } from './repositories/db.js';
import { holdLease, LEASES } from './repositories/leases.js';

runMain('api', async () => {
  const config = loadApiConfig();
  const db = createPool(config.databaseUrl);
  const ran = await migrate(db);
  if (ran.length) logger().info({ migrations: ran }, `api: applied migrations ${ran.join(', ')}`);
  const connection = await Connection.connect(temporalConnectOptions(config.temporalAddress, config.temporalTls));
  const temporal = new Client({ connection, namespace: config.namespace });
  await ensureRepairSchedule(temporal);
  const deps = {
    db,
    temporal,
    nodes: new NodeClient(db, config.clusterSecret),
    config,
    snapshots: openSnapshotStore(config.snapshotStore),
    dataPath: createDataPathState(db, config),
  };
  const server = await listen(createApp(deps), config.port, config.bind);
  const monitorLease = holdLease(config.databaseUrl, LEASES.heartbeatMonitor, 'heartbeat-monitor', config.monitorIntervalMs);
  const stopMonitor = startHeartbeatMonitor(deps, monitorLease);
  const stopNotifier = startNotifier(db, config.webhooks);
  logger().info({ port: boundPort(server) }, `api listening on http://127.0.0.1:${boundPort(server)}`);

  const shutdown = async () => {
    stopMonitor();
    await Promise.all([closeServer(server), stopNotifier(), monitorLease.release()]);
    await Promise.all([db.end(), connection.close()]);
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown());
  process.once('SIGINT', () => void shutdown());
});
