// The worker process: workflows and control activities on one task queue, data-heavy
// activities on a second queue with bounded concurrency.
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { existsSync } from 'node:fs';
import { createActivities } from '../activities/index.js';
import { createPool } from '../api/repositories/db.js';
import { runMain } from '../common/config.js';
import { closeServer } from '../common/listen.js';
import { logger } from '../common/log.js';
import { temporalConnectOptions } from '../common/temporal-tls.js';
import { loadWorkerConfig } from './config.js';
import { openSnapshotStore } from '../snapshot-store/store.js';
import { CONTROL_TASK_QUEUE, DATA_TASK_QUEUE, SERVER_RECOVERY_TASK_QUEUE, SNAPSHOT_TASK_QUEUE } from '../common/messages.js';
import { BUNDLE_PATH, WORKFLOWS_PATH } from './bundle.js';
import { activityMetrics, freeLoopbackPort, serveWorkerMetrics, workerRegistry } from './metrics.js';
import { installRuntime } from './temporal-log.js';

runMain('worker', async () => {
  const config = loadWorkerConfig();
  const sdkMetricsPort = await freeLoopbackPort();
  installRuntime(logger({ component: 'temporal' }), sdkMetricsPort);
  const registry = workerRegistry();
  const interceptors = { activity: [activityMetrics(registry)] };
  const metricsServer = await serveWorkerMetrics(registry, config.metricsPort, config.metricsBind, sdkMetricsPort);
  const db = createPool(config.databaseUrl, 8);
  const temporal = temporalConnectOptions(config.temporalAddress, config.temporalTls);
  const clientConnection = await Connection.connect(temporal);
  const client = new Client({ connection: clientConnection, namespace: config.namespace });
  const connection = await NativeConnection.connect(temporal);
  const { clusterSecret, peerWaitMs, reviewDeadlineMs, rebuildRangeBytes } = config;
  const snapshots = openSnapshotStore(config.snapshotStore);
  const activities = createActivities({ db, client, clusterSecret, peerWaitMs, reviewDeadlineMs, rebuildRangeBytes, snapshots });
  const workflowSource = existsSync(BUNDLE_PATH) ? { workflowBundle: { codePath: BUNDLE_PATH } } : { workflowsPath: WORKFLOWS_PATH };

  const workflowWorker = (taskQueue: string) =>
    Worker.create({
      connection,
      namespace: config.namespace,
      taskQueue,
      activities,
      interceptors,
      ...(config.workflowCacheSize === undefined ? {} : { maxCachedWorkflows: config.workflowCacheSize }),
      ...workflowSource,
    });
  const control = await workflowWorker(CONTROL_TASK_QUEUE);
  const servers = await workflowWorker(SERVER_RECOVERY_TASK_QUEUE);
  const data = await Worker.create({
    connection,
    namespace: config.namespace,
    taskQueue: DATA_TASK_QUEUE,
    activities,
    interceptors,
    maxConcurrentActivityTaskExecutions: config.dataConcurrency,
  });
  // Snapshots of serving volumes have their own slots: they never hold a recovery restore back.
  const snapshotWork = await Worker.create({
    connection,
    namespace: config.namespace,
    taskQueue: SNAPSHOT_TASK_QUEUE,
    activities,
    interceptors,
    maxConcurrentActivityTaskExecutions: config.snapshotConcurrency,
  });
  logger().info(
    {
      queues: [CONTROL_TASK_QUEUE, SERVER_RECOVERY_TASK_QUEUE, DATA_TASK_QUEUE, SNAPSHOT_TASK_QUEUE],
      dataConcurrency: config.dataConcurrency,
    },
    `worker polling ${CONTROL_TASK_QUEUE}, ${SERVER_RECOVERY_TASK_QUEUE}, ${DATA_TASK_QUEUE} (concurrency ${config.dataConcurrency}) and ${SNAPSHOT_TASK_QUEUE} (concurrency ${config.snapshotConcurrency})`,
  );
  await Promise.all([control.run(), servers.run(), data.run(), snapshotWork.run()]);
  await Promise.all([db.end(), clientConnection.close(), connection.close(), closeServer(metricsServer)]);
});
