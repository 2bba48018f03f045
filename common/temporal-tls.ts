// mTLS to the Temporal frontend, for the API's client and the worker's connections. Set
// TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY (this process's client certificate), TEMPORAL_TLS_CA
// (the CA that signed the server's certificate) and, when the address is not the name in that
// certificate, TEMPORAL_TLS_SERVER_NAME. None set: plaintext, as the local dev server runs.
import { readFileSync } from 'node:fs';
import type { Env } from './config.js';

export interface TemporalTls {
  cert: string;
  key: string;
  ca?: string;
  serverName?: string;
}

/** Reads the TLS variables; a certificate without its key (or the reverse) is a configuration error. */
export function temporalTlsFromEnv(env: Env, problems: string[]): TemporalTls | undefined {
  const cert = env.optional('TEMPORAL_TLS_CERT');
  const key = env.optional('TEMPORAL_TLS_KEY');
  const ca = env.optional('TEMPORAL_TLS_CA');
  const serverName = env.optional('TEMPORAL_TLS_SERVER_NAME');
  if (!cert !== !key) problems.push('TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together: set both or neither');
  if (!cert && (ca || serverName))
    problems.push('TEMPORAL_TLS_CA and TEMPORAL_TLS_SERVER_NAME need TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY (mutual TLS)');
  return cert && key ? { cert, key, ...(ca ? { ca } : {}), ...(serverName ? { serverName } : {}) } : undefined;
}

/** Options for Connection.connect and NativeConnection.connect; the files are read here, at connect time. */
export function temporalConnectOptions(address: string, tls: TemporalTls | undefined) {
  if (!tls) return { address };
  return {
    address,
    tls: {
      clientCertPair: { crt: readFileSync(tls.cert), key: readFileSync(tls.key) },
      ...(tls.ca ? { serverRootCACertificate: readFileSync(tls.ca) } : {}),
      ...(tls.serverName ? { serverNameOverride: tls.serverName } : {}),
    },
  };
}
