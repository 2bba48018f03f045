// Workflow tests on Temporal's own tooling: a local dev server (the CLI binary we build; the
// time-skipping test server is a download this machine cannot make), the workflow bundle built
// once per file, and workers whose activities are mocks that record every call.
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';
import { temporalBinary } from '../../cluster/temporal-server.js';
import type { Activities } from '../../activities/index.js';
import { CONTROL_TASK_QUEUE, DATA_TASK_QUEUE, RecoveryPhaseKey, StorageNodeKey, VolumeIdKey } from '../../common/messages.js';

export const WORKFLOWS_SOURCE = fileURLToPath(new URL('../../workflows/index.ts', import.meta.url));

/** Workers log only warnings: a test's output is its result. */
export function quietRuntime(): void {
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // already installed in this process
  }
}

export async function startWorkflowEnv(): Promise<TestWorkflowEnvironment> {
  quietRuntime();
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: process.env.TEMPORAL_CLI ?? temporalBinary() },
      searchAttributes: [RecoveryPhaseKey, StorageNodeKey, VolumeIdKey],
      log: { format: 'pretty', level: 'error' },
    },
  });
}

export async function bundleWorkflows(): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({
    workflowsPath: WORKFLOWS_SOURCE,
    logger: { info() {}, warn() {}, error: console.error, debug() {}, trace() {}, log() {} },
  });
}

export type Call = { name: string; input: unknown };
export type MockActivities = Partial<Record<keyof Activities, (input: never) => Promise<unknown>>>;

/** Every call to a mocked activity, in order; an activity without a mock fails the test loudly. */
export function recorded(mocks: MockActivities): { activities: Record<string, (input: unknown) => Promise<unknown>>; calls: Call[] } {
  const calls: Call[] = [];
  const activities = Object.fromEntries(
    Object.entries(mocks).map(([name, fn]) => [
      name,
      async (input: unknown) => {
        calls.push({ name, input });
        return (fn as (i: unknown) => Promise<unknown>)(input);
      },
    ]),
  );
  return { activities, calls };
}

/** A control worker (workflows and control activities) and a data worker, running until `body` ends. */
export async function withWorkers<T>(
  env: TestWorkflowEnvironment,
  bundle: WorkflowBundleWithSourceMap,
  activities: object,
  body: () => Promise<T>,
): Promise<T> {
  const options = { connection: env.nativeConnection, activities, shutdownGraceTime: '1 second' as const };
  const control = await Worker.create({ ...options, taskQueue: CONTROL_TASK_QUEUE, workflowBundle: bundle });
  const data = await Worker.create({ ...options, taskQueue: DATA_TASK_QUEUE });
  return control.runUntil(data.runUntil(body));
}
