// One storage node's lifetime inside a process: load its volumes, serve, register, heartbeat,
// recover after an unclean shutdown, and stop cleanly. A process may host many of these.
import { boundPort, closeServer, listen, listenTls } from '../common/listen.js';
import { logger } from '../common/log.js';
import { ControlPlaneAgent } from './agent.js';
import { plainPeerSend, streamedReplication, tlsPeerSend } from './client.js';
import type { NodeConfig } from './config.js';
import { nodeMetrics } from './metrics.js';
import { NodeService } from './node-service.js';
import { openSnapshotStore } from '../snapshot-store/store.js';
import { NodeStore } from './store/node-store.js';
import { createNodeApp } from './transport/http-server.js';
import { MirrorStreamPool } from './transport/mirror-stream-client.js';
import { MirrorStreamServer } from './transport/mirror-stream-server.js';
import { grantExports } from './transport/nbd-export.js';
import { startNbdServer } from './transport/nbd-server.js';
import { loadNbdTls } from './transport/nbd-tls.js';
import { loadPeerTls } from './transport/peer-tls.js';

export interface RunningNode {
  nodeId: string;
  url: string;
  /** Clean shutdown: stop serving, close files, write the clean-shutdown marker. */
  stop(): Promise<void>;
}

export async function startStorageNode(config: NodeConfig): Promise<RunningNode> {
  const tls = loadNbdTls(config.nbdTls, config.nbdTlsFiles, config.nodeId);
  const peerTls = loadPeerTls(config.peerTls, config.nbdTlsFiles, config.nodeId);
  const peerSend = peerTls ? tlsPeerSend(peerTls) : plainPeerSend;
  const mirrorStreams = new MirrorStreamPool(peerTls);
  const store = new NodeStore(config.dataDir, config.fsync);
  const boot = await store.load();
  await store.claimIdentity(config.nodeId);
  const service = new NodeService(
    config.nodeId,
    store,
    config.capacityBytes,
    openSnapshotStore(config.snapshotStore),
    streamedReplication(peerSend, mirrorStreams),
  );
  const unclean = !boot.cleanShutdown && !boot.firstBoot;
  if (unclean) await service.holdAll(); // before the first request can reach a copy
  let agent: ControlPlaneAgent | null = null;
  const credentials = () => ({ token: agent?.token ?? null, mirrorToken: agent?.mirrorToken ?? null });
  const metrics = nodeMetrics(config.nodeId, store, service);
  const replicationOptions = { peerTls: config.peerTls, countReplication: metrics.countReplication };
  const reporting = () => agent?.reportPending ?? false;
  const app = createNodeApp(service, credentials, { metrics: metrics.registry, reporting, ...replicationOptions });
  const streams = new MirrorStreamServer(service, credentials, replicationOptions);
  const server = await listen(app, config.port, config.bind);
  streams.attach(server);
  const url = config.advertiseUrl ?? `http://127.0.0.1:${boundPort(server)}`;
  const peerServer = peerTls ? await listenTls(app, peerTls.server, config.peerPort, config.bind) : null;
  if (peerServer) streams.attach(peerServer);
  const peerUrl = peerServer ? (config.peerAdvertiseUrl ?? `https://${hostPort(config.bind, boundPort(peerServer))}`) : null;
  const nbd = await startNbdServer(
    {
      exports: metrics.countConnections(grantExports(service, () => agent?.token ?? null, config.fsync)),
      preAuth: metrics.preAuthLimit(config.nbdPreAuth),
      handshakeTimeoutMs: config.nbdHandshakeMs,
      tls,
    },
    { port: config.nbdPort, host: config.bind },
  );
  const nbdAddress = config.nbdAdvertise ?? hostPort(config.bind, nbd.port);
  agent = new ControlPlaneAgent({ ...config, url, nbdAddress, peerUrl }, service, peerSend);
  service.onPeerUnreachable(config.peerGiveUpMs, agent.requestPeerDrop);
  await agent.loadToken();
  logger({ nodeId: config.nodeId }).info(
    { url, nbdAddress, peerUrl, nbdTls: config.nbdTls, peerTls: config.peerTls, volumes: store.volumes.size, unclean },
    `node ${config.nodeId} listening on ${url}, NBD on ${nbdAddress} (TLS ${config.nbdTls}), peers on ${peerUrl ?? url} (TLS ${config.peerTls}; ${store.volumes.size} volumes, ${unclean ? 'unclean shutdown: recovering' : 'clean start'})`,
  );
  await agent.register();
  agent.startHeartbeats();
  if (unclean) agent.startRecovery(true);
  return {
    nodeId: config.nodeId,
    url,
    async stop() {
      agent?.stop();
      mirrorStreams.close();
      streams.close();
      await Promise.all([closeServer(server), peerServer && closeServer(peerServer), nbd.close()]);
      peerTls?.agent.destroy();
      await store.markCleanShutdown();
    },
  };
}

/** "host:port" for the NBD address; a wildcard bind is reached on loopback, like the HTTP URL. */
function hostPort(bind: string, port: number): string {
  const host = bind === '0.0.0.0' || bind === '::' ? '127.0.0.1' : bind;
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
