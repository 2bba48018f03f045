// The fleet's health, like `ceph -s`, from the API in-process on port 0 against a real Postgres
// (as api-component.test.ts): the inventory is moved through an outage by the test's own
// statements, and `GET /v1/operator/health`, `blackstart health` (the built CLI), /metrics and the
// console's fleet page (in chromium, scanned by axe-core) say warn or error with each reason and
// its count, then ok once it heals. Every answer is checked against the OpenAPI document.
import type { Client } from '@temporalio/client';
import express from 'express';
import { execFile } from 'node:child_process';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type pg from 'pg';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../api/app.js';
import { loadApiConfig } from '../../api/config.js';
import type { NodeClient } from '../../api/node-client.js';
import { createCustomer } from '../../api/repositories/customers.js';
import { inTransaction } from '../../api/repositories/db.js';
import { awaitingOwnerAmong, underReplicatedVolumes, volumesAwaitingOwner } from '../../api/repositories/fleet-health.js';
import { upsertNode } from '../../api/repositories/nodes.js';
import { insertVolume, setVolumeState } from '../../api/repositories/volumes.js';
import { createDataPathState } from '../../api/use-cases/data-path.js';
import type { Deps } from '../../api/use-cases/deps.js';
import type { FleetHealthView } from '../../cli/client.js';
import type { SnapshotStore } from '../../snapshot-store/store.js';
import { axeScan, launchChromium, screenshot } from '../support/browser.js';
import { checkedFetch } from '../support/openapi-check.js';
import { admin, migratedTestDatabase } from '../support/test-cluster.js';

const OPERATOR = 'an-operator-token-of-some-length';
const dbName = `blackstart_health_${process.pid}_${Date.now() % 100000}`;

describe('fleet health', () => {
  let db: pg.Pool;
  let api: Server;
  let url = '';
  let browser: Browser | undefined;

  beforeAll(async () => {
    let dbUrl: string;
    ({ db, url: dbUrl } = await migratedTestDatabase(dbName));
    const domain = (p: string) => ({ dc: 'dc1', zone: 'az1', router: 'r1', power: p, host: p });
    for (const [id, power] of [
      ['node-a', 'p1'],
      ['node-b', 'p2'],
      ['node-c', 'p3'],
    ] as const) {
      await upsertNode(db, { id, url: 'http://127.0.0.1:1', nbdAddress: '' }, domain(power), 1 << 30, 600_000);
    }
    await createCustomer(db, 'cust-1', 'one', 'bsk_health-key');
    for (const [id, primary, secondary] of [
      ['vol-1', 'node-a', 'node-b'],
      ['vol-2', 'node-b', 'node-c'],
    ] as const) {
      const volume = { id, customerId: 'cust-1', sizeBytes: 1 << 20, autoEnableIo: false, sourceSnapshotId: null };
      await inTransaction(db, (tx) => insertVolume(tx, volume, primary, secondary));
      await setVolumeState(db, id, 'available');
    }

    // No heartbeat monitor runs here: the test says which node is silent, down or recovering.
    const config = loadApiConfig({
      DATABASE_URL: dbUrl,
      CLUSTER_SECRET: 'a-cluster-secret-of-some-length',
      OPERATOR_TOKEN: OPERATOR,
      SNAPSHOT_STORE: '/nowhere',
      HEARTBEAT_TIMEOUT_MS: '600000',
    });
    // Health reads the inventory only; Temporal is not there (the /metrics phase counts fail and are counted as such).
    const noTemporal = {} as Client;
    const deps: Deps = {
      db,
      config,
      temporal: noTemporal,
      nodes: {} as NodeClient,
      snapshots: {} as SnapshotStore,
      dataPath: createDataPathState(db, config),
    };
    // The API serves the console from beside its built code (dist/console-web); run from the sources, it is mounted here.
    const app = express()
      .use('/console', express.static(join('dist', 'console-web')))
      .use(createApp(deps));
    api = app.listen(0, '127.0.0.1');
    await new Promise((r) => api.once('listening', r));
    url = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await browser?.close();
    api?.closeAllConnections();
    await new Promise((r) => (api ? api.close(r) : r(undefined)));
    await db?.end();
    await admin(`drop database if exists ${dbName} with (force)`);
  });

  async function health(query = ''): Promise<FleetHealthView> {
    const res = await checkedFetch(`${url}/v1/operator/health${query}`, { headers: { authorization: `Bearer ${OPERATOR}` } });
    expect(res.status).toBe(200);
    return res.body as FleetHealthView;
  }
  const counts = (h: FleetHealthView) => Object.fromEntries(h.reasons.map((r) => [r.code, r.count]));

  /** The built CLI against this API: its output and exit code. */
  function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const env = { ...process.env, BLACKSTART_API_URL: url, BLACKSTART_OPERATOR_TOKEN: OPERATOR, BLACKSTART_HOME: '/nonexistent' };
    return new Promise((resolve) => {
      execFile(process.execPath, ['dist/cli/main.js', 'health', ...args], { env }, (err, stdout, stderr) =>
        resolve({ code: err ? Number(err.code) : 0, stdout, stderr }),
      );
    });
  }

  async function metric(name: string): Promise<number> {
    await new Promise((r) => setTimeout(r, 600)); // a scrape reuses the inventory read of another within 500 ms
    const text = await (await fetch(`${url}/metrics`)).text();
    const found = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
    if (!found) throw new Error(`${name} not in /metrics`);
    return Number(found[1]);
  }

  const sql = (text: string, params: unknown[] = []) => db.query(text, params);

  it('when every volume has two in-service copies and every node serves, then it is ok, and the CLI exits 0', async () => {
    expect(await health()).toMatchObject({ status: 'ok', reasons: [] });
    const run = await cli();
    expect(run).toMatchObject({ code: 0, stdout: 'HEALTH_OK\n' });
    expect(await metric('blackstart_health_status')).toBe(0);
    expect(await metric('blackstart_volumes_underreplicated')).toBe(0);
  });

  it('when a node goes down, then its volumes are under-replicated: warn with both reasons and counts, exit 1, then ok once it serves again', async () => {
    await sql(`update nodes set state = 'down' where id = 'node-b'`);
    const h = await health();
    expect(h.status).toBe('warn');
    expect(counts(h)).toEqual({ 'volumes-under-replicated': 2, 'nodes-down': 1 });
    expect(h.reasons.find((r) => r.code === 'volumes-under-replicated')!.message).toBe(
      '2 volumes under-replicated (fewer than two in-service copies)',
    );
    expect(await underReplicatedVolumes(db, 10)).toEqual([
      { volumeId: 'vol-1', inServiceCopies: 1, rebuildingCopies: 0 },
      { volumeId: 'vol-2', inServiceCopies: 1, rebuildingCopies: 0 },
    ]);

    const run = await cli();
    expect(run.code).toBe(1);
    expect(run.stdout).toBe(
      [
        'HEALTH_WARN',
        '  [WRN] volumes-under-replicated: 2 volumes under-replicated (fewer than two in-service copies)',
        '  [WRN] nodes-down: 1 node down',
        '',
      ].join('\n'),
    );
    expect(JSON.parse((await cli('--json')).stdout)).toMatchObject({ status: 'warn', reasons: h.reasons });
    expect(await metric('blackstart_volumes_underreplicated')).toBe(2);
    expect(await metric('blackstart_health_status')).toBe(1);

    // a rebuild for vol-1 is under way: still under-replicated until it serves
    await sql(`insert into replicas (volume_id, node_id, role, epoch, state) values ('vol-1', 'node-c', 'secondary', 1, 'rebuilding')`);
    expect((await underReplicatedVolumes(db, 1))[0]).toEqual({ volumeId: 'vol-1', inServiceCopies: 1, rebuildingCopies: 1 });
    await sql(`update replicas set state = 'in-service' where volume_id = 'vol-1' and node_id = 'node-c'`);
    await sql(`update replicas set state = 'stale' where volume_id = 'vol-1' and node_id = 'node-b'`);
    expect(counts(await health())).toEqual({ 'volumes-under-replicated': 1, 'nodes-down': 1 });

    await sql(`update nodes set state = 'recovering' where id = 'node-b'`);
    expect(counts(await health())).toEqual({ 'volumes-under-replicated': 1, 'nodes-recovering': 1 });
    await sql(`update nodes set state = 'in-service' where id = 'node-b'`);
    expect(await health()).toMatchObject({ status: 'ok', reasons: [] });
    expect(await cli()).toMatchObject({ code: 0, stdout: 'HEALTH_OK\n' });
    expect(await metric('blackstart_volumes_underreplicated')).toBe(0);
  });

  it('when a node is down, then the console’s fleet page says Warning with the reasons at the top, accessibly, and OK once it heals', async () => {
    browser = await launchChromium();
    await sql(`update nodes set state = 'down' where id = 'node-a'`);
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    await page.goto(`${url}/console/`);
    await page.getByLabel('an operator').check();
    await page.getByLabel('Operator token').fill(OPERATOR);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Fleet', level: 1 }).waitFor();
    const panel = page.getByRole('region', { name: /^Health:/ });
    await panel.getByRole('heading', { name: 'Health: Warning', level: 2 }).waitFor();
    expect(await panel.getByRole('listitem').allTextContents()).toEqual([
      'Warning: 1 volume under-replicated (fewer than two in-service copies)',
      'Warning: 1 node down',
    ]);
    await screenshot(page, 'operator-fleet-health-warn');
    const blocking = (await axeScan(page, 'operator-fleet-health-warn')).filter((f) => ['serious', 'critical'].includes(f.impact));
    expect(blocking, JSON.stringify(blocking, null, 2)).toEqual([]);

    await sql(`update nodes set state = 'in-service' where id = 'node-a'`);
    await panel.getByRole('heading', { name: 'Health: OK', level: 2 }).waitFor({ timeout: 10_000 });
    await screenshot(page, 'operator-fleet-health-ok');
    await page.close();
  });

  it('when no copy of a volume is in service, then it is an error (exit 2); when a restored copy awaits its owner, it warns of that alone', async () => {
    await sql(`update replicas set state = 'recovering' where volume_id = 'vol-2'`);
    const h = await health();
    expect(h.status).toBe('error');
    expect(h.reasons.map((r) => [r.severity, r.code, r.count])).toEqual([
      ['error', 'volumes-unavailable', 1],
      ['warn', 'volumes-under-replicated', 1],
    ]);
    expect((await cli()).code).toBe(2);
    expect(await metric('blackstart_health_status')).toBe(2);

    // recordRestored: I/O paused, the winner restored, the other copy a candidate — the owner decides
    await sql(`update volumes set io_state = 'paused' where id = 'vol-2'`);
    await sql(`update replicas set state = 'restored' where volume_id = 'vol-2' and node_id = 'node-c'`);
    await sql(`update replicas set state = 'candidate' where volume_id = 'vol-2' and node_id = 'node-b'`);
    expect(counts(await health())).toEqual({ 'volumes-awaiting-owner': 1 });
    expect(await volumesAwaitingOwner(db, 10)).toEqual(['vol-2']);
    expect(await awaitingOwnerAmong(db, ['vol-1', 'vol-2', 'vol-9'])).toEqual(new Set(['vol-2']));
    expect(await underReplicatedVolumes(db, 10)).toEqual([]);
  });

  it('when a server recovery stays open past the bound, then it is stuck, unless its node holds a copy awaiting the owner', async () => {
    const admitted = (node: string, minutesAgo: number) =>
      sql(
        `insert into recovery_events (node_id, workflow_id, replicas, admitted_at)
         values ($1, $2, 1, now() - make_interval(mins => $3::int))`,
        [node, `server-recovery-${node}-${minutesAgo}`, minutesAgo],
      );
    await admitted('node-a', 20);
    await admitted('node-a', 2);
    // node-c holds vol-2's restored copy (node-b its candidate): it waits for the owner, rightly
    await admitted('node-c', 30);
    expect(counts(await health())).toEqual({ 'volumes-awaiting-owner': 1, 'recoveries-stuck': 1 });
    expect((await health()).reasons.find((r) => r.code === 'recoveries-stuck')!.message).toBe('1 server recovery open longer than 10 min');
    expect(await metric('blackstart_recoveries_stuck')).toBe(1);
    expect(counts(await health('?stuckAfterSeconds=60'))).toMatchObject({ 'recoveries-stuck': 2 });
    expect(counts(await health('?stuckAfterSeconds=3600'))).toEqual({ 'volumes-awaiting-owner': 1 });
    expect((await cli('--stuck-after', '60')).stdout).toContain('  [WRN] recoveries-stuck: 2 server recoveries open longer than 1 min\n');

    // the owner decided: node-c's incident no longer waits for anyone, and is stuck too
    await sql(`update volumes set io_state = 'enabled' where id = 'vol-2'`);
    await sql(`update replicas set state = 'in-service' where volume_id = 'vol-2'`);
    expect(counts(await health())).toEqual({ 'recoveries-stuck': 2 });
    // finished or superseded incidents are closed
    await sql(`update recovery_events set finished_at = now() where node_id = 'node-a'`);
    await sql(`update recovery_events set superseded_at = now() where node_id = 'node-c'`);
    expect(await health()).toMatchObject({ status: 'ok', reasons: [] });
  });

  it('when repairs fail, or most of the fleet falls silent, then it is an error with the reason', async () => {
    await sql(`insert into repairs (subject, kind, attempts, failing) values ('vol-1', 'under-replicated', 5, true)`);
    expect((await health()).reasons).toEqual([{ code: 'repairs-failing', severity: 'error', count: 1, message: '1 repair failing' }]);
    await sql(`update repairs set failing = false`);

    // one silent node of three: below the mass-outage share (1/3), a warning
    await sql(`update nodes set last_heartbeat = now() - interval '20 minutes' where id = 'node-c'`);
    expect(await health()).toMatchObject({ status: 'warn', reasons: [{ code: 'nodes-silent', count: 1 }] });
    // two of three: the breaker holds, nothing fails over
    await sql(`update nodes set last_heartbeat = now() - interval '20 minutes' where id = 'node-b'`);
    const h = await health();
    expect(h.status).toBe('error');
    expect(counts(h)).toEqual({ 'mass-outage-breaker': 1, 'nodes-silent': 2 });
    await sql(`update nodes set last_heartbeat = now()`);
    expect(await health()).toMatchObject({ status: 'ok', reasons: [] });
  });

  it('when stuckAfterSeconds is not a whole number of seconds from 1 s to 30 days, then 400 in the one error shape; the CLI says unknown (exit 3)', async () => {
    for (const bad of ['abc', '-1', '0', '1.5', '1e3', '', '2592001', '99999999999']) {
      const res = await checkedFetch(`${url}/v1/operator/health?stuckAfterSeconds=${encodeURIComponent(bad)}`, {
        headers: { authorization: `Bearer ${OPERATOR}` },
      });
      expect(res.status, bad).toBe(400);
      expect(res.body).toMatchObject({ error: { code: 'invalid-request', message: expect.stringContaining('stuckAfterSeconds') } });
    }
    const unknown = await checkedFetch(`${url}/v1/operator/health?stuck=1`, { headers: { authorization: `Bearer ${OPERATOR}` } });
    expect(unknown.status).toBe(400);
    const anonymous = await checkedFetch(`${url}/v1/operator/health`);
    expect(anonymous.status).toBe(401);

    const run = await cli('--stuck-after', 'soon');
    expect(run.code).toBe(3);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/health unknown: .*stuckAfterSeconds/);
    expect((await cli('--no-such-flag')).code).toBe(3);
  });
});
