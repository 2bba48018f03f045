// docker-compose.yml's Temporal, run for real where the tests run (BLACKSTART_TEMPORAL=postgres;
// scripts/test.sh runs this file so): the config file it mounts (temporalServerConfig with its
// mutual TLS) with only the database, the ports and the certificates' directory changed, its
// schema job's script and its admin job's script, on the server binary the tests use. A client
// with the client certificate finds the namespace and our search attributes; one without is refused.
import { Connection } from '@temporalio/client';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManagedProcess, freePort } from '../../cluster/processes.js';
import {
  COMPOSE_TEMPORAL,
  registrationScript,
  schemaScript,
  temporalServerArgs,
  temporalServerConfig,
} from '../../cluster/temporal-config.js';
import { databaseOf, dropTemporalDatabases, freeMembershipPort, temporalKind, temporalServerDir } from '../../cluster/temporal-postgres.js';
import { temporalBinary, waitForTemporal } from '../../cluster/temporal-server.js';
import { SEARCH_ATTRIBUTES } from '../../common/messages.js';

describe.runIf(temporalKind() === 'postgres')("docker-compose.yml's Temporal (config, schema job, admin job) on the real server", () => {
  let dir = '';
  let server: ManagedProcess;
  let address = '';
  const certs = () => join(dir, 'certs');

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'blackstart-compose-temporal-'));
    execFileSync('bash', ['scripts/temporal-certs.sh', certs()], { stdio: 'ignore' });
    const bin = temporalServerDir();
    const db = databaseOf(dir);
    const path = `${bin}:${dirname(temporalBinary())}:${process.env.PATH}`;
    execFileSync('sh', ['-c', schemaScript(db, join(bin, 'schema'))], { env: { ...process.env, PATH: path }, stdio: 'pipe' });
    const [frontend, history, matching, worker] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const tls = {
      ...COMPOSE_TEMPORAL.tls!,
      cert: join(certs(), 'temporal.pem'),
      key: join(certs(), 'temporal.key'),
      ca: join(certs(), 'ca.pem'),
    };
    const config = temporalServerConfig({
      ...COMPOSE_TEMPORAL,
      db,
      grpcPorts: { frontend, history, matching, worker },
      membershipPorts: {
        frontend: await freeMembershipPort(),
        history: await freeMembershipPort(),
        matching: await freeMembershipPort(),
        worker: await freeMembershipPort(),
      },
      frontendHttpPort: await freePort(),
      bindOnIP: '127.0.0.1',
      tls,
    });
    await writeFile(join(dir, 'temporal-server.yaml'), config);
    server = new ManagedProcess({
      name: 'temporal',
      command: join(bin, 'temporal-server'),
      args: temporalServerArgs(join(dir, 'temporal-server.yaml')),
      env: {},
      logDir: dir,
    });
    server.start();
    address = `127.0.0.1:${frontend}`;
    // The admin job's script, with the variables compose gives it (the client certificate).
    const env = {
      ...process.env,
      PATH: path,
      TEMPORAL_ADDRESS: address,
      TEMPORAL_TLS_CERT: join(certs(), 'client.pem'),
      TEMPORAL_TLS_KEY: join(certs(), 'client.key'),
      TEMPORAL_TLS_CA: join(certs(), 'ca.pem'),
      TEMPORAL_TLS_SERVER_NAME: 'temporal',
    };
    execFileSync('timeout', ['120', 'sh', '-c', registrationScript()], { env, stdio: 'pipe' });
  }, 180_000);
  afterAll(async () => {
    await server?.stop();
    await dropTemporalDatabases(dir);
    await rm(dir, { recursive: true, force: true });
  });

  it('serves a client with the client certificate: the namespace and our search attributes are there', async () => {
    const tls = {
      serverNameOverride: 'temporal',
      serverRootCACertificate: readFileSync(join(certs(), 'ca.pem')),
      clientCertPair: { crt: readFileSync(join(certs(), 'client.pem')), key: readFileSync(join(certs(), 'client.key')) },
    };
    const connection = await Connection.connect({ address, tls });
    try {
      const attributes = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
      expect(Object.keys(attributes.customAttributes ?? {})).toEqual(expect.arrayContaining(Object.keys(SEARCH_ATTRIBUTES)));
      const ns = await connection.workflowService.describeNamespace({ namespace: 'default' });
      expect(Number(ns.config?.workflowExecutionRetentionTtl?.seconds)).toBe(3 * 24 * 3600);
    } finally {
      await connection.close();
    }
  });

  it('refuses a client without a certificate, and one in plaintext', async () => {
    const caOnly = { serverNameOverride: 'temporal', serverRootCACertificate: readFileSync(join(certs(), 'ca.pem')) };
    await expect(waitForTemporalWith(address, caOnly)).rejects.toThrow();
    await expect(waitForTemporal(address, 3000, server)).rejects.toThrow();
  });
});

async function waitForTemporalWith(address: string, tls: object): Promise<void> {
  const connection = await Connection.connect({ address, tls, connectTimeout: 3000 });
  try {
    await connection.workflowService.getSystemInfo({});
  } finally {
    await connection.close();
  }
}
