// Records workflow histories for the replay tests from clusters an integration run kept:
//   KEEP_TEST_DIRS=1 npx vitest run test/integration/power-domain-outage.test.ts
//   npx vite-node test/support/record-histories.ts -- $TMPDIR/blackstart-*/
// For each workflow type it starts the Temporal dev server on each kept temporal.db in turn and
// saves the longest completed history of that type to test/histories/<type>.json.
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../cluster/processes.js';
import { temporalProcess, waitForTemporal } from '../../cluster/temporal-server.js';

const TYPES = ['serverRecovery', 'volumeRecovery', 'nodeFailover', 'volumeRebuild', 'volumeSnapshot', 'volumeDeletion', 'repairPass'];
const OUT = fileURLToPath(new URL('../histories/', import.meta.url));

const History = temporal.api.history.v1.History;
/**
 * protobufjs's own object form (enum names, 64-bit ints and bytes as strings), read back with
 * `History.fromObject`. Not the proto3 JSON of the CLI and Web UI: `historyFromJSON` fails in
 * this install (@temporalio/common carries its own protobufjs 8, the generated types use 7).
 */
const HISTORY_JSON = { longs: String, enums: String, bytes: String };

type Found = { length: number; json: string; from: string; workflowId: string };

async function longestOfEachType(dir: string, best: Map<string, Found>): Promise<void> {
  const port = await freePort();
  const proc = temporalProcess({ dir, port, uiPort: null, logDir: await mkdtemp(join(tmpdir(), 'record-histories-')) });
  proc.start();
  try {
    await waitForTemporal(`127.0.0.1:${port}`, 30_000, proc);
    const connection = await Connection.connect({ address: `127.0.0.1:${port}` });
    const client = new Client({ connection });
    for (const type of TYPES) {
      for await (const wf of client.workflow.list({ query: `WorkflowType = '${type}' AND ExecutionStatus = 'Completed'` })) {
        const history = await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
        const json = JSON.stringify(History.toObject(History.fromObject(history), HISTORY_JSON));
        const length = history.events?.length ?? 0;
        if (length > (best.get(type)?.length ?? 0)) best.set(type, { length, json, from: dir, workflowId: wf.workflowId });
      }
    }
    await connection.close();
  } finally {
    await proc.stop();
  }
}

const dirs = process.argv.slice(2).filter((d) => d !== '--' && existsSync(join(d, 'temporal.db')));
if (dirs.length === 0) throw new Error('no kept cluster directory with a temporal.db given');
const best = new Map<string, Found>();
for (const dir of dirs) await longestOfEachType(dir, best);
await mkdir(OUT, { recursive: true });
for (const [type, found] of best) {
  await writeFile(join(OUT, `${type}.json`), found.json);
  console.log(`${type}: ${found.workflowId} (${found.length} events) from ${found.from}`);
}
