// How many no-op workflows (start → one activity → complete) per second this machine's
// Temporal server completes — the dev server, or with BLACKSTART_TEMPORAL=postgres the server on
// Postgres (databases of its own, dropped at the end): the ceiling to compare recovery rates against.
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../cluster/processes.js';
import { dropTemporalDatabases, postgresTemporalProcess, registerNamespace, temporalKind } from '../cluster/temporal-postgres.js';
import { temporalProcess, waitForTemporal } from '../cluster/temporal-server.js';
import { noopWorkflow } from './noop-workflow.js';
import { Progress } from './progress.js';

const TASK_QUEUE = 'bench-noop';

export async function temporalCeilingBench(workflows: number, concurrency: number) {
  const dir = await mkdtemp(join(tmpdir(), 'blackstart-ceiling-'));
  const port = await freePort();
  const postgres = temporalKind() === 'postgres';
  const server = postgres
    ? await postgresTemporalProcess({ dir, port, logDir: dir })
    : temporalProcess({ dir, port, uiPort: null, logDir: dir });
  server.start();
  try {
    const address = `127.0.0.1:${port}`;
    await waitForTemporal(address, 120_000, server);
    if (postgres) await registerNamespace(address);
    Runtime.install({ logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: console.error } });
    const connection = await NativeConnection.connect({ address });
    const worker = await Worker.create({
      connection,
      taskQueue: TASK_QUEUE,
      workflowsPath: fileURLToPath(new URL('./noop-workflow.js', import.meta.url)),
      activities: { async noop() {} },
    });
    const client = new Client({ connection: await Connection.connect({ address }) });
    const result = await worker.runUntil(async () => {
      const progress = new Progress('temporal-ceiling', workflows);
      let started = 0;
      let done = 0;
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (started < workflows) {
            const i = started++;
            await client.workflow.execute(noopWorkflow, { taskQueue: TASK_QUEUE, workflowId: `noop-${i}` });
            progress.update(++done);
          }
        }),
      );
      progress.done();
      const seconds = (performance.now() - t0) / 1000;
      return { workflows, concurrency, seconds, noopWorkflowsPerSecond: workflows / seconds };
    });
    await connection.close();
    return result;
  } finally {
    await server.stop();
    if (postgres) await dropTemporalDatabases(dir);
    await rm(dir, { recursive: true, force: true });
  }
}
