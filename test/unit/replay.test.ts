// Replays recorded histories of real recoveries (test/histories/, one or more per workflow type)
// against the current workflow code: a change that would break a running workflow's determinism
// fails here. How to re-record, and when a change needs patched(): test/README.md.
import { temporal } from '@temporalio/proto';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { bundleWorkflows, quietRuntime } from '../support/workflow-env.js';

const DIR = fileURLToPath(new URL('../histories/', import.meta.url));
const FILES = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .sort();
const History = temporal.api.history.v1.History;
const REQUIRED = ['serverRecovery', 'volumeRecovery', 'nodeFailover', 'volumeRebuild', 'repairPass'];

let bundle: WorkflowBundleWithSourceMap;
beforeAll(async () => {
  quietRuntime();
  bundle = await bundleWorkflows();
}, 120_000);

describe('replay of recorded histories', () => {
  it('keeps a history of every recovery workflow type', () => {
    const types = FILES.map((f) => f.replace(/(-.*)?\.json$/, ''));
    for (const type of REQUIRED) expect(types).toContain(type);
  });

  it('replays every recorded history without a nondeterminism error', async () => {
    const histories = FILES.map((file) => ({
      workflowId: file,
      history: History.fromObject(JSON.parse(readFileSync(`${DIR}${file}`, 'utf8')) as object),
    })); // as record-histories.ts wrote it
    const failures: string[] = [];
    for await (const result of Worker.runReplayHistories({ workflowBundle: bundle }, histories)) {
      if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
    }
    expect(failures).toEqual([]);
    expect(histories.length).toBeGreaterThanOrEqual(REQUIRED.length);
  }, 60_000);
});
