// A storage node process. One node by default; with NODE_HOST_SPEC (a JSON array of per-node
// NODE_ID / NODE_PORT / NODE_DATA_DIR / NODE_DOMAIN) it hosts several, each exactly like a
// standalone node (own port, token, data dir) — cheap enough for a 200-node fleet on one machine.
import { runMain } from '../common/config.js';
import { loadNodeConfig } from './config.js';
import { startStorageNode, type RunningNode } from './node-runtime.js';

runMain('storage-node', async () => {
  const overrides = process.env.NODE_HOST_SPEC ? (JSON.parse(process.env.NODE_HOST_SPEC) as Record<string, string>[]) : [{}];
  const configs = overrides.map((o) => loadNodeConfig({ ...process.env, ...o }));
  // The nodes of one host boot side by side, as separate machines would after a power loss.
  const nodes: RunningNode[] = await Promise.all(configs.map(startStorageNode));

  const shutdown = async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown());
  process.once('SIGINT', () => void shutdown());
});
