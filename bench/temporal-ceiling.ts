// How many no-op workflows (start → one activity → complete) per second this machine's
// Temporal server completes — the dev server, or with BLACKSTART_TEMPORAL=postgres the server on
// Postgres (databases of its own, dropped at the end): the ceiling to compare recovery rates against.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../cluster/processes.js';
import { dropTemporalDatabases, postgresTemporalProcess, registerNamespace, temporalKind } from '../cluster/temporal-postgres.js';
import { temporalProcess, waitForTemporal } from '../cluster/temporal-server.js';
import { temporalServerCpu } from './cpu.js';
import { runNoopWorkflows } from './noop-cost.js';

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
    const cost = await runNoopWorkflows(address, {
      workflows,
      concurrency,
      taskQueue: 'bench-noop',
      serverCpu: () => temporalServerCpu(server.pid),
    });
    return {
      workflows,
      concurrency,
      seconds: cost.noopSeconds,
      noopWorkflowsPerSecond: cost.noopWorkflowsPerSecond,
      noopCpuMsPerWorkflow: cost.noopCpuMsPerWorkflow,
    };
  } finally {
    await server.stop();
    if (postgres) await dropTemporalDatabases(dir);
    await rm(dir, { recursive: true, force: true });
  }
}
