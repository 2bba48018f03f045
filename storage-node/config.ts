// The storage node's configuration, validated at start-up.
import { parseApiUrls } from '../common/api-endpoints.js';
import { Env } from '../common/config.js';
import { parseDomainPath } from '../common/failure-domain.js';
import { NBD_TLS_MODES, type NbdTlsMode } from './transport/nbd-tls.js';
import { PEER_TLS_MODES, type PeerTlsMode } from './transport/peer-tls.js';

export function loadNodeConfig(vars: NodeJS.ProcessEnv = process.env) {
  const env = new Env(vars);
  const config = {
    nodeId: env.string('NODE_ID'),
    port: env.int('NODE_PORT', 0, 0, 65535),
    dataDir: env.string('NODE_DATA_DIR'),
    domainPath: env.string('NODE_DOMAIN'),
    /** One or more API URLs, comma-separated: the agent moves to the next when one stops answering. */
    controlPlaneUrl: parseApiUrls(env.string('CONTROL_PLANE_URL')).join(','),
    joinToken: env.string('JOIN_TOKEN'),
    capacityBytes: env.int('NODE_CAPACITY_BYTES', 64 * 1024 ** 3, 1),
    heartbeatMs: env.int('HEARTBEAT_MS', 1000, 50),
    reportRetryMs: env.int('REPORT_RETRY_MS', 500, 10),
    /** The control plane's heartbeat timeout is the natural default for both: by then it has noticed too. */
    networkLossMs: env.int('NODE_NETWORK_LOSS_MS', env.int('HEARTBEAT_TIMEOUT_MS', 5000, 100), 100),
    peerGiveUpMs: env.int('NODE_PEER_GIVE_UP_MS', env.int('HEARTBEAT_TIMEOUT_MS', 5000, 100), 100),
    fsync: env.bool('NODE_FSYNC', true),
    bind: env.string('NODE_BIND', '127.0.0.1'),
    advertiseUrl: env.optional('NODE_ADVERTISE_URL'),
    /** NBD (block clients); 0 picks a free port. Advertised as NODE_NBD_ADVERTISE ("host:port") or the bind host and bound port. */
    nbdPort: env.int('NODE_NBD_PORT', 0, 0, 65535),
    nbdAdvertise: env.optional('NODE_NBD_ADVERTISE'),
    /** NBD connections that have not presented a grant yet: at once in total, at once from one address, and how long each may take. */
    nbdPreAuth: {
      total: env.int('NODE_NBD_PREAUTH_MAX', 256, 1),
      perSource: env.int('NODE_NBD_PREAUTH_PER_SOURCE', 32, 1),
    },
    nbdHandshakeMs: env.int('NODE_NBD_HANDSHAKE_MS', 5000, 100),
    /** STARTTLS on the NBD port: off (refused), optional (offered), require (nothing else until TLS is up). */
    nbdTls: env.string('NODE_NBD_TLS', 'off') as NbdTlsMode,
    /** The node's certificate and key (PEM) for NBD over TLS; the cluster CA, to check the certificate at start-up. */
    nbdTlsFiles: { cert: env.optional('NODE_NBD_TLS_CERT'), key: env.optional('NODE_NBD_TLS_KEY'), ca: env.optional('NODE_NBD_TLS_CA') },
    /** Mirror and rebuild traffic: off (plain HTTP on NODE_PORT), require (only over mutual TLS on NODE_PEER_PORT, with the NBD certificate pair and CA). */
    peerTls: env.string('NODE_PEER_TLS', 'off') as PeerTlsMode,
    peerPort: env.int('NODE_PEER_PORT', 0, 0, 65535),
    /** How peers reach the TLS peer port ("https://host:port"); by default the bind host and bound port. */
    peerAdvertiseUrl: env.optional('NODE_PEER_ADVERTISE_URL'),
    snapshotStore: env.string('SNAPSHOT_STORE'),
  };
  env.check((problems) => {
    try {
      if (config.domainPath) parseDomainPath(config.domainPath);
    } catch (err) {
      problems.push((err as Error).message);
    }
    if (!NBD_TLS_MODES.includes(config.nbdTls))
      problems.push(`NODE_NBD_TLS must be one of ${NBD_TLS_MODES.join(', ')}, got "${config.nbdTls}"`);
    else if (config.nbdTls !== 'off' && !(config.nbdTlsFiles.cert && config.nbdTlsFiles.key))
      problems.push(`NODE_NBD_TLS=${config.nbdTls} needs NODE_NBD_TLS_CERT and NODE_NBD_TLS_KEY`);
    if (!PEER_TLS_MODES.includes(config.peerTls))
      problems.push(`NODE_PEER_TLS must be one of ${PEER_TLS_MODES.join(', ')}, got "${config.peerTls}"`);
    else if (config.peerTls === 'require' && !(config.nbdTlsFiles.cert && config.nbdTlsFiles.key && config.nbdTlsFiles.ca))
      problems.push(
        'NODE_PEER_TLS=require needs NODE_NBD_TLS_CERT, NODE_NBD_TLS_KEY and NODE_NBD_TLS_CA (the cluster CA its peers are checked against)',
      );
  });
  return config;
}

export type NodeConfig = ReturnType<typeof loadNodeConfig>;
