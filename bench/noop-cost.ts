// No-op workflows (start → one activity → complete) on a running Temporal server, from this
// process: how many per second, and what each costs the control plane — the peer every recovery
// figure is divided by, measured on the same server in the same run.
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';
import { noopWorkflow } from './noop-workflow.js';
import { Progress } from './progress.js';

export interface NoopCost {
  noopWorkflows: number;
  noopSeconds: number;
  noopWorkflowsPerSecond: number;
  /** CPU of the Temporal server (and its Postgres backends) and of this process's client and worker, per workflow. */
  noopCpuMsPerWorkflow: number;
}

let runtimeInstalled = false;

/** `serverCpu()`: CPU seconds so far of the server side (the Temporal process, its database backends). */
export async function runNoopWorkflows(
  address: string,
  opts: { workflows: number; concurrency: number; taskQueue: string; namespace?: string; serverCpu: () => number },
): Promise<NoopCost> {
  if (!runtimeInstalled) {
    Runtime.install({ logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: console.error } });
    runtimeInstalled = true;
  }
  const namespace = opts.namespace ?? 'default';
  const connection = await NativeConnection.connect({ address });
  const worker = await Worker.create({
    connection,
    namespace,
    taskQueue: opts.taskQueue,
    workflowsPath: fileURLToPath(new URL('./noop-workflow.js', import.meta.url)),
    activities: { async noop() {} },
  });
  const clientConnection = await Connection.connect({ address });
  const client = new Client({ connection: clientConnection, namespace });
  try {
    return await worker.runUntil(async () => {
      await client.workflow.execute(noopWorkflow, { taskQueue: opts.taskQueue, workflowId: `${opts.taskQueue}-warmup` });
      const before = { server: opts.serverCpu(), self: process.cpuUsage() };
      const t0 = performance.now();
      await executeAll(client, opts);
      const seconds = (performance.now() - t0) / 1000;
      const self = process.cpuUsage(before.self);
      const cpuMs = (opts.serverCpu() - before.server) * 1000 + (self.user + self.system) / 1000;
      return {
        noopWorkflows: opts.workflows,
        noopSeconds: seconds,
        noopWorkflowsPerSecond: opts.workflows / seconds,
        noopCpuMsPerWorkflow: cpuMs / opts.workflows,
      };
    });
  } finally {
    await clientConnection.close();
    await connection.close();
  }
}

async function executeAll(client: Client, opts: { workflows: number; concurrency: number; taskQueue: string }): Promise<void> {
  const progress = new Progress('no-op workflows', opts.workflows);
  let started = 0;
  let done = 0;
  await Promise.all(
    Array.from({ length: opts.concurrency }, async () => {
      while (started < opts.workflows) {
        const i = started++;
        await client.workflow.execute(noopWorkflow, { taskQueue: opts.taskQueue, workflowId: `${opts.taskQueue}-${i}` });
        progress.update(++done);
      }
    }),
  );
  progress.done();
}
