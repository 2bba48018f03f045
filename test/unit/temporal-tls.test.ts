// The API and the worker connect to Temporal with mutual TLS when TEMPORAL_TLS_* name their
// certificate files, and refuse half a configuration at start-up.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadApiConfig } from '../../api/config.js';
import { ConfigError } from '../../common/config.js';
import { temporalConnectOptions } from '../../common/temporal-tls.js';
import { loadWorkerConfig } from '../../workers/config.js';

const base = {
  DATABASE_URL: 'postgres://x',
  CLUSTER_SECRET: 'a-cluster-secret-of-some-length',
  OPERATOR_TOKEN: 'an-operator-token-of-some-length',
  SNAPSHOT_STORE: '/s',
};

describe('mutual TLS to Temporal', () => {
  it('is off without the variables: a plain address, as the dev server wants', () => {
    const config = loadApiConfig(base);
    expect(config.temporalTls).toBeUndefined();
    expect(temporalConnectOptions(config.temporalAddress, config.temporalTls)).toEqual({ address: '127.0.0.1:7233' });
  });

  it('refuses a certificate without its key, or a CA without a client certificate', () => {
    for (const env of [{ TEMPORAL_TLS_CERT: '/c.pem' }, { TEMPORAL_TLS_KEY: '/c.key' }, { TEMPORAL_TLS_CA: '/ca.pem' }]) {
      expect(() => loadApiConfig({ ...base, ...env }), JSON.stringify(env)).toThrow(ConfigError);
      expect(() => loadWorkerConfig({ ...base, ...env }), JSON.stringify(env)).toThrow(/TEMPORAL_TLS/);
    }
  });

  it('connects with the client certificate pair, the CA and the server name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'temporal-tls-'));
    execFileSync('bash', ['scripts/temporal-certs.sh', dir], { stdio: 'ignore' });
    const env = {
      ...base,
      TEMPORAL_TLS_CERT: join(dir, 'client.pem'),
      TEMPORAL_TLS_KEY: join(dir, 'client.key'),
      TEMPORAL_TLS_CA: join(dir, 'ca.pem'),
      TEMPORAL_TLS_SERVER_NAME: 'temporal',
    };
    const { temporalAddress, temporalTls } = loadWorkerConfig({ ...env, TEMPORAL_ADDRESS: 'temporal:7233' });
    const options = temporalConnectOptions(temporalAddress, temporalTls);
    expect(options).toEqual({
      address: 'temporal:7233',
      tls: {
        clientCertPair: { crt: readFileSync(join(dir, 'client.pem')), key: readFileSync(join(dir, 'client.key')) },
        serverRootCACertificate: readFileSync(join(dir, 'ca.pem')),
        serverNameOverride: 'temporal',
      },
    });
  });
});
