// A storage node process: volumes as files under its data dir, served over HTTP.
import { runMain } from '../common/config.js';
import { loadNodeConfig } from './config.js';
import { boundPort, closeServer, listen } from '../common/listen.js';
import { ControlPlaneAgent } from './agent.js';
import { NodeService } from './node-service.js';
import { NodeStore } from './store/node-store.js';
import { createNodeApp } from './transport/http-server.js';

runMain('storage-node', async () => {
  const config = loadNodeConfig();
  const store = new NodeStore(config.dataDir, config.fsync);
  const boot = await store.load();
  await store.claimIdentity(config.nodeId);
  const service = new NodeService(config.nodeId, store, config.capacityBytes);
  const unclean = !boot.cleanShutdown && !boot.firstBoot;
  if (unclean) await service.holdAll(); // before the first request can reach a copy
  let agent: ControlPlaneAgent | null = null;
  const server = await listen(createNodeApp(service, () => ({ token: agent?.token ?? null, mirrorToken: agent?.mirrorToken ?? null })), config.port, config.bind);
  const url = config.advertiseUrl ?? `http://127.0.0.1:${boundPort(server)}`;
  agent = new ControlPlaneAgent({ ...config, url }, service);
  await agent.loadToken();
  console.log(`node ${config.nodeId} listening on ${url} (${store.volumes.size} volumes, ${unclean ? 'unclean shutdown: recovering' : 'clean start'})`);
  await agent.register();
  agent.startHeartbeats();
  if (unclean) agent.startRecovery(true);

  const shutdown = async () => {
    agent?.stop();
    await closeServer(server);
    await store.markCleanShutdown();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown());
  process.once('SIGINT', () => void shutdown());
});
