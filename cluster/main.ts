// `npm start`: the whole system on this machine, state kept in $BLACKSTART_HOME (default .blackstart/).
import type { Server } from 'node:http';
import { join, resolve } from 'node:path';
import { levels } from 'pino';
import pretty from 'pino-pretty';
import { Env, runMain } from '../common/config.js';
import { logger, logLevel } from '../common/log.js';
import { boundPort } from '../common/listen.js';
import { startControlServer } from './control-server.js';
import { LocalCluster, processCounts } from './local-cluster.js';
import { followLogs, PRETTY } from './log-follow.js';
import { defaultTopology } from './topology.js';
import { NBD_TLS_MODES, type NbdTlsMode } from '../storage-node/transport/nbd-tls.js';

const colorize = process.stdout.isTTY === true;
// The terminal gets people's text: this process's lines and its children's, pretty-printed.
const terminal = pretty({ ...PRETTY, sync: true, colorize });

runMain('blackstart', main, terminal);

async function main(): Promise<void> {
  const env = new Env();
  const dir = resolve(env.string('BLACKSTART_HOME', '.blackstart'));
  const nodes = env.int('BLACKSTART_NODES', 6, 2, 500);
  const apiPort = env.int('API_PORT', 8080, 1, 65535);
  const { apis, workers } = processCounts(env);
  const temporalPort = env.int('TEMPORAL_PORT', 7233, 1, 65535);
  const uiPort = env.int('TEMPORAL_UI_PORT', 8233, 1, 65535);
  const databaseUrl = env.optional('DATABASE_URL');
  // Certificates are made once (well under a second) and TLS costs little on loopback (README, Security model).
  const nbdTls = env.string('BLACKSTART_NBD_TLS', 'require') as NbdTlsMode;
  env.check((problems) => {
    if (!NBD_TLS_MODES.includes(nbdTls)) problems.push(`BLACKSTART_NBD_TLS must be one of ${NBD_TLS_MODES.join(', ')}, got "${nbdTls}"`);
  });

  const level = logLevel();
  const following = followLogs(join(dir, 'logs'), (text) => process.stdout.write(text), {
    minLevel: level === 'silent' ? Infinity : levels.values[level]!,
    colorize,
  });
  const cluster = await LocalCluster.start(
    { dir, nodes: defaultTopology(nodes), databaseUrl, apiPort, temporalPort, uiPort, nbdTls, apis, workers },
    (msg) => logger().info(`blackstart: ${msg}...`),
  );
  await controlServer(cluster).catch(async (err: unknown) => {
    await cluster.stop();
    throw err;
  });
  // The banner is the terminal's user interface, not a log line.
  following.flush();
  process.stdout.write(`
Blackstart is running (state in ${dir}; logs in ${cluster.logDir})
  API            ${cluster.apiUrls.join(', ')}${apis > 1 ? ' (nodes, attach, the CLI and the console use them all)' : ''}
  Workers        ${workers} process${workers > 1 ? 'es' : ''}
  Temporal UI    ${cluster.uiUrl}
  Temporal gRPC  ${cluster.temporalAddress}
  Postgres       ${databaseUrl ? 'DATABASE_URL' : `embedded PostgreSQL 18 (${cluster.databaseUrl})`}
  Storage nodes  ${[...cluster.nodes.keys()].map((id) => `${id} ${cluster.nodeUrl(id)}`).join('\n                 ')}
  Block devices  npx blackstart attach VOLUME_ID --socket /tmp/vol.sock   (NBD for qemu, fio, nbdinfo…)
  Node NBD TLS   ${cluster.nbdCerts ? `${nbdTls}: cluster CA ${cluster.nbdCerts.ca} (attach finds it; nbdinfo/qemu: ${cluster.nbdCerts.clientDir})` : 'off'}
  Node to node   ${cluster.nbdCerts ? 'mirror and rebuild over mutual TLS (NODE_PEER_TLS=require)' : 'plain HTTP (BLACKSTART_NBD_TLS=off)'}
Try: npx blackstart customer create --name demo     (Ctrl-C stops everything)
  Operator token ${cluster.operatorToken}
`);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    logger().info('blackstart: stopping...');
    await cluster.stop();
    following.flush();
    following.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

/**
 * The CLI's power-fail endpoint, on the port kept in the cluster's layout. Another process may
 * have taken that port since (the Temporal server binds random ports): then on a new one, kept.
 */
async function controlServer(cluster: LocalCluster): Promise<Server> {
  try {
    return await startControlServer(cluster, cluster.layout.controlPort);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    const server = await startControlServer(cluster, 0);
    await cluster.keepControlPort(boundPort(server));
    return server;
  }
}
