// The control plane under abuse (issue 9): internal webhook URLs are refused and store nothing;
// quotas; rejected requests change nothing; every query parameter is validated.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { SNAPSHOT_TASK_QUEUE, snapshotWorkflowId } from '../../common/messages.js';
import { nodeToken } from '../../common/tokens.js';
import { eventually, startTestCluster, type TestCluster } from '../support/test-cluster.js';

describe('the API under abuse', () => {
  let t: TestCluster;
  let api = '';

  beforeAll(async () => {
    t = await startTestCluster('security-api', {
      nodes: [
        { nodeId: 'node-a', domainPath: 'dc1/az1/r1/p1/h1' },
        { nodeId: 'node-b', domainPath: 'dc1/az1/r1/p2/h2' },
      ],
      env: { MAX_MANUAL_SNAPSHOTS_PER_VOLUME: '2' },
    });
    api = t.cluster.apiUrl;
  });
  afterAll(() => t?.stop());

  async function call(path: string, init: { method?: string; token?: string; body?: unknown } = {}) {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      authorization: `Bearer ${init.token ?? t.customer.token}`,
    };
    const body = init.body === undefined ? undefined : JSON.stringify(init.body);
    const res = await fetch(`${api}${path}`, { method: init.method ?? 'GET', headers, body });
    return {
      status: res.status,
      headers: res.headers,
      body: (await res.json()) as { error?: { code: string; message: string } } & Record<string, unknown>,
    };
  }
  const count = async (table: string) => (await t.db.query(`select count(*)::int as n from ${table}`)).rows[0].n as number;

  it('refuses webhook URLs that reach internal addresses, in every spelling, and stores nothing', async () => {
    for (const url of [
      'http://127.0.0.1/hook',
      'http://169.254.169.254/latest/meta-data/',
      'http://[::1]/hook',
      'http://0/hook',
      'http://0.0.0.0/hook',
      'http://10.1.2.3/hook',
      'http://192.168.0.1/hook',
      'http://[::ffff:127.0.0.1]/hook',
      'http://localhost:8080/hook',
      'http://2130706433/',
    ]) {
      const res = await call('/v1/webhook', { method: 'PUT', body: { url } });
      expect(res.status, url).toBe(400);
      expect(res.body.error?.code, url).toBe('forbidden-webhook-url');
    }
    expect(await count('webhooks')).toBe(0);
  });

  it('validates every query parameter: 400 in the one error shape for bad, empty or unknown ones', async () => {
    const { volumeId } = await t.customer.createVolume(64 * 1024);
    const operator = t.operator.token;
    for (const [path, token] of [
      ['/v1/operator/recoveries?limit=-1', operator],
      ['/v1/operator/recoveries?limit=0.5', operator],
      ['/v1/operator/recoveries?limit=0', operator],
      ['/v1/operator/recoveries?limit=', operator],
      ['/v1/operator/recoveries?limit=1e2', operator],
      ['/v1/operator/fleet?x=1', operator],
      ['/v1/events?after=', undefined],
      ['/v1/events?limit=%20', undefined],
      ['/v1/volumes?all=true', undefined],
      [`/v1/volumes/${volumeId}?x=1`, undefined],
      [`/v1/volumes/${volumeId}/data?offset=0x10&length=4096`, undefined],
      [`/v1/volumes/${volumeId}/data?offset=0&length=4096&length=8192`, undefined],
      [`/v1/volumes/${volumeId}/snapshots?limit=1`, undefined],
    ] as const) {
      const res = await call(path, { token });
      expect(res.status, path).toBe(400);
      expect(res.body.error?.code, path).toBe('invalid-request');
    }
    expect((await call('/v1/operator/recoveries?limit=5', { token: operator })).status).toBe(200);
  });

  it('answers I/O to a volume whose creation failed or is unfinished with 409, at once', async () => {
    const { volumeId } = await t.customer.createVolume(64 * 1024);
    for (const state of ['error', 'creating']) {
      await t.db.query('update volumes set state = $2 where id = $1', [volumeId, state]);
      const res = await call(`/v1/volumes/${volumeId}/data?offset=0&length=4096`);
      expect(res.status, state).toBe(409);
      expect(res.body.error?.code).toBe('volume-not-ready');
    }
  });

  it('leaves no snapshot record when a snapshot request is refused', async () => {
    const { volumeId } = await t.customer.createVolume(64 * 1024);
    await t.db.query(`update volumes set io_state = 'paused' where id = $1`, [volumeId]); // paused, but no review waits
    const res = await call(`/v1/volumes/${volumeId}/snapshots`, { method: 'POST' });
    expect(res.status).toBe(409);
    expect((await t.db.query('select count(*)::int as n from snapshots where volume_id = $1', [volumeId])).rows[0].n).toBe(0);
  });

  it('does not tell a customer how many chunks a snapshot uploaded (a cross-tenant dedup oracle)', async () => {
    const { volumeId } = await t.customer.createVolume(64 * 1024);
    const { snapshotId } = await t.customer.createSnapshot(volumeId);
    const done = await eventually('snapshot', async () => {
      const s = (await call(`/v1/snapshots/${snapshotId}`)).body;
      return s.state === 'completed' && s;
    });
    expect(done).not.toHaveProperty('uploadedChunks');
  });

  it('refuses a recovery report larger than MAX_REPORT_BYTES (4 MiB) with 413, and admits and stores nothing', async () => {
    const token = nodeToken(t.cluster.layout.clusterSecret, 'node-a');
    const replica = (i: number) => ({
      volumeId: `vol-big-${i}`,
      sizeBytes: 4096 * 1_000_000,
      role: 'primary',
      epoch: 1,
      writeSeq: 1,
      badBlocks: Array.from({ length: 300_000 }, (_, b) => b),
      dirtyBadBlocks: [],
      digest: '0'.repeat(64),
      baseSnapshotId: null,
      rebuilding: false,
    });
    const scan = { nodeId: 'node-a', scannedAt: new Date().toISOString(), crashed: true, replicas: [replica(1), replica(2), replica(3)] }; // about 6 MB
    const res = await call('/v1/nodes/node-a/recovery-reports', { method: 'POST', token, body: scan });
    expect(res.status).toBe(413);
    expect(res.body.error?.code).toBe('report-too-large');
    expect(await count('recovery_events')).toBe(0);
    expect(await count('recovery_reports')).toBe(0);
    expect((await t.operator.fleet()).summary.recovering).toBe(0);
  });

  it('holds every form of snapshot schedule to the least spacing, and creates no Schedule when it refuses', async () => {
    const { volumeId } = await t.customer.createVolume(64 * 1024);
    for (const policy of [
      { cron: '@every 1s', retention: 2 },
      { cron: '* * * * *', retention: 2 },
      { cron: '*/4 * * * *', retention: 2 },
      { cron: '0,1 3 * * *', retention: 2 },
      { cron: '@every 299s', retention: 2 },
      { cron: '* * * * * *', retention: 2 },
      { cron: 'CRON_TZ=UTC 0 * * * *', retention: 2 },
      { intervalSeconds: 60, retention: 2 },
    ]) {
      const res = await call(`/v1/volumes/${volumeId}/snapshot-policy`, { method: 'PUT', body: policy });
      expect(res.status, JSON.stringify(policy)).toBe(400);
      expect(res.body.error?.code).toBe('invalid-request');
    }
    expect((await call(`/v1/volumes/${volumeId}/snapshot-policy`)).status).toBe(404);
    const ok = await call(`/v1/volumes/${volumeId}/snapshot-policy`, { method: 'PUT', body: { cron: '*/5 * * * *', retention: 2 } });
    expect(ok.status).toBe(200);
    expect((await call(`/v1/volumes/${volumeId}/snapshot-policy`, { method: 'DELETE' })).status).toBe(200);
  });

  it('bounds the snapshots taken on request per volume, and takes them on their own task queue', async () => {
    const { volumeId } = await t.customer.createVolume(64 * 1024);
    const taken = [(await t.customer.createSnapshot(volumeId)).snapshotId, (await t.customer.createSnapshot(volumeId)).snapshotId];
    const refused = await call(`/v1/volumes/${volumeId}/snapshots`, { method: 'POST' });
    expect(refused.status).toBe(409);
    expect(refused.body.error?.code).toBe('too-many-snapshots');
    expect((await t.db.query('select count(*)::int as n from snapshots where volume_id = $1', [volumeId])).rows[0].n).toBe(2);

    await eventually('snapshots completed', async () =>
      (await Promise.all(taken.map((id) => t.customer.snapshot(id)))).every((s) => s.state === 'completed'),
    );
    const connection = await Connection.connect({ address: t.cluster.temporalAddress });
    try {
      const history = await new Client({ connection }).workflow.getHandle(snapshotWorkflowId(taken[0]!)).fetchHistory();
      const capture = history.events?.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'snapshotCopy');
      expect(capture?.activityTaskScheduledEventAttributes?.taskQueue?.name).toBe(SNAPSHOT_TASK_QUEUE);
    } finally {
      await connection.close();
    }
  });

  it('holds a customer to its operator-set quota with 403 quota-exceeded, changing nothing, and frees what an error volume held', async () => {
    const { customerId, apiKey } = await t.operator.createCustomer('quota');
    const op = (path: string, method = 'GET', body?: unknown) =>
      call(`/v1/operator/customers/${customerId}/quota${path}`, { method, token: t.operator.token, body });
    expect((await op('', 'PUT', { maxVolumes: -1 })).status).toBe(400);
    expect((await op('', 'PUT', { maxBytes: 1.5 })).status).toBe(400);
    expect((await call('/v1/operator/customers/cust-nobody/quota', { token: t.operator.token })).status).toBe(404);
    expect((await call(`/v1/operator/customers/${customerId}/quota`, { token: apiKey })).status).toBe(401);
    const set = await op('', 'PUT', { maxVolumes: 2, maxBytes: 131072, maxSnapshots: 1 });
    expect(set.body).toMatchObject({
      quota: { maxVolumes: 2, maxBytes: 131072, maxSnapshots: 1 },
      usage: { volumes: 0, bytes: 0, snapshots: 0 },
    });

    const create = (sizeBytes: number) => call('/v1/volumes', { method: 'POST', token: apiKey, body: { sizeBytes } });
    const first = (await create(65536)).body.volumeId as string;
    const tooBig = await create(131072);
    expect(tooBig.status).toBe(403);
    expect(tooBig.body.error).toMatchObject({ code: 'quota-exceeded' });
    expect(tooBig.body.error?.message).toMatch(/131072/);
    const second = (await create(65536)).body.volumeId as string;
    expect((await create(4096)).body.error?.message).toMatch(/quota allows 2/);
    expect((await call(`/v1/volumes/${first}/snapshots`, { method: 'POST', token: apiKey })).status).toBe(202);
    const snap = await call(`/v1/volumes/${second}/snapshots`, { method: 'POST', token: apiKey });
    expect(snap.status).toBe(403);
    expect(snap.body.error?.code).toBe('quota-exceeded');
    expect((await t.db.query('select count(*)::int as n from volumes where customer_id = $1', [customerId])).rows[0].n).toBe(2);
    expect((await t.db.query('select count(*)::int as n from snapshots where volume_id = $1', [second])).rows[0].n).toBe(0);

    // a volume whose creation failed holds neither quota nor node space
    const allocated = async () =>
      (await t.operator.fleet()).nodes.reduce((sum, n) => sum + (n as { allocatedBytes?: number }).allocatedBytes!, 0);
    const before = await allocated();
    await t.db.query(`update volumes set state = 'error' where id = $1`, [second]);
    expect(await allocated()).toBe(before - 2 * 65536);
    expect((await op('')).body.usage).toEqual({ volumes: 1, bytes: 65536, snapshots: 1 });
    expect((await create(65536)).status).toBe(201);
    expect((await op('', 'PUT', { maxVolumes: null })).body.quota).toMatchObject({ maxVolumes: 100, maxBytes: 131072 });
  });
});
