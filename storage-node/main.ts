// A storage node process: volumes as files under its data dir, served over HTTP.
import { Env, runMain } from '../common/config.js';
import { parseDomainPath } from '../common/failure-domain.js';
import { boundPort, closeServer, listen } from '../common/listen.js';
import { ControlPlaneAgent } from './agent.js';
import { NodeService } from './node-service.js';
import { NodeStore } from './store/node-store.js';
import { createNodeApp } from './transport/http-server.js';

function loadConfig() {
  const env = new Env();
  const config = {
    nodeId: env.string('NODE_ID'),
    port: env.int('NODE_PORT', 0, 0, 65535),
    dataDir: env.string('NODE_DATA_DIR'),
    domainPath: env.string('NODE_DOMAIN'),
    controlPlaneUrl: env.string('CONTROL_PLANE_URL'),
    joinToken: env.string('JOIN_TOKEN'),
    capacityBytes: env.int('NODE_CAPACITY_BYTES', 64 * 1024 ** 3, 1),
    heartbeatMs: env.int('HEARTBEAT_MS', 1000, 50),
    reportRetryMs: env.int('REPORT_RETRY_MS', 500, 10),
    fsync: env.bool('NODE_FSYNC', true),
  };
  env.check((problems) => {
    try {
      if (config.domainPath) parseDomainPath(config.domainPath);
    } catch (err) {
      problems.push((err as Error).message);
    }
  });
  return config;
}

runMain('storage-node', async () => {
  const config = loadConfig();
  const store = new NodeStore(config.dataDir, config.fsync);
  const boot = await store.load();
  await store.claimIdentity(config.nodeId);
  const service = new NodeService(config.nodeId, store, config.capacityBytes);
  const unclean = !boot.cleanShutdown && !boot.firstBoot;
  if (unclean) await service.holdAll(); // before the first request can reach a copy
  let agent: ControlPlaneAgent | null = null;
  const server = await listen(createNodeApp(service, () => agent?.token ?? null), config.port);
  const url = `http://127.0.0.1:${boundPort(server)}`;
  agent = new ControlPlaneAgent({ ...config, url }, service);
  await agent.loadToken();
  console.log(`node ${config.nodeId} listening on ${url} (${store.volumes.size} volumes, ${unclean ? 'unclean shutdown: recovering' : 'clean start'})`);
  await agent.register();
  agent.startHeartbeats();
  if (unclean) agent.startRecovery();

  const shutdown = async () => {
    agent?.stop();
    await closeServer(server);
    await store.markCleanShutdown();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown());
  process.once('SIGINT', () => void shutdown());
});
