// Spec test 6: malformed, oversized and unauthenticated requests get a 4xx JSON error and change
// nothing; another customer's volume is not found; a node cannot report for another node.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { joinToken, nodeToken } from '../../common/tokens.js';
import { startTestCluster, type TestCluster } from '../support/test-cluster.js';

describe('bad input', () => {
  let t: TestCluster;
  let volumeId = '';
  let api = '';
  let key = '';

  beforeAll(async () => {
    t = await startTestCluster('bad-input', {
      nodes: [
        { nodeId: 'node-a', domainPath: 'dc1/az1/r1/p1/h1' },
        { nodeId: 'node-b', domainPath: 'dc1/az1/r1/p2/h2' },
      ],
    });
    api = t.cluster.apiUrl;
    key = t.customer.token;
    volumeId = (await t.customer.createVolume(64 * 1024)).volumeId;
  });
  afterAll(() => t?.stop());

  async function call(path: string, init: { method?: string; token?: string; body?: string | Buffer; type?: string } = {}) {
    const headers: Record<string, string> = { 'content-type': init.type ?? 'application/json' };
    if (init.token) headers.authorization = `Bearer ${init.token}`;
    const res = await fetch(`${api}${path}`, { method: init.method ?? 'GET', headers, body: init.body as BodyInit | undefined });
    return { status: res.status, body: (await res.json()) as { error?: { code: string; message: string } } };
  }
  const volumeCount = async () => (await t.db.query('select count(*)::int as n from volumes')).rows[0].n as number;

  it('answers malformed JSON with 400 and creates nothing', async () => {
    const before = await volumeCount();
    const res = await call('/v1/volumes', { method: 'POST', token: key, body: '{"sizeBytes": 4096,' });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'malformed-request' });
    expect(await volumeCount()).toBe(before);
  });

  it('rejects a size that is not a whole number of blocks, and unknown fields', async () => {
    const before = await volumeCount();
    for (const body of [{ sizeBytes: 1000 }, { sizeBytes: -4096 }, { sizeBytes: 4096, color: 'red' }, { sizeBytes: '4096' }]) {
      const res = await call('/v1/volumes', { method: 'POST', token: key, body: JSON.stringify(body) });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error?.code).toBe('invalid-request');
    }
    expect(await volumeCount()).toBe(before);
  });

  it('answers an oversized body with 413', async () => {
    const res = await call('/v1/volumes', {
      method: 'POST',
      token: key,
      body: JSON.stringify({ sizeBytes: 4096, pad: 'x'.repeat(64 * 1024) }),
    });
    expect(res.status).toBe(413);
    expect(res.body.error?.code).toBe('payload-too-large');
    const write = await call(`/v1/volumes/${volumeId}/data?offset=0`, {
      method: 'PUT',
      token: key,
      body: Buffer.alloc(5 * 1024 * 1024),
      type: 'application/octet-stream',
    });
    expect(write.status).toBe(413);
  });

  it('answers missing or unknown credentials with 401', async () => {
    expect((await call('/v1/volumes')).status).toBe(401);
    expect((await call('/v1/volumes', { token: 'bsk_not-a-key' })).status).toBe(401);
    expect((await call('/v1/operator/fleet', { token: key })).status).toBe(401);
    expect(
      (await call('/v1/nodes/node-a/heartbeat', { method: 'POST', token: 'garbage', body: '{"usedBytes":0,"recovering":false}' })).status,
    ).toBe(401);
  });

  it("hides another customer's volume: 404 for every verb", async () => {
    const other = t.operator.withToken((await t.operator.createCustomer('someone else')).apiKey);
    for (const [method, path] of [
      ['GET', `/v1/volumes/${volumeId}`],
      ['GET', `/v1/volumes/${volumeId}/status`],
      ['POST', `/v1/volumes/${volumeId}/enable-io`],
      ['POST', `/v1/volumes/${volumeId}/review-grants`],
      ['GET', `/v1/volumes/${volumeId}/data?offset=0&length=10`],
    ] as const) {
      const res = await call(path, { method, token: other.token });
      expect(res.status, `${method} ${path}`).toBe(404);
    }
    expect((await other.listVolumes()).volumes).toEqual([]);
  });

  it('rejects reads and writes outside the volume with 400', async () => {
    const res = await call(`/v1/volumes/${volumeId}/data?offset=65530&length=10`, { token: key });
    expect(res.status).toBe(400);
    expect(res.body.error?.code).toBe('bad-range');
    expect((await call(`/v1/volumes/${volumeId}/data?offset=-1&length=10`, { token: key })).status).toBe(400);
  });

  it('forbids a node to report for another node, and records nothing', async () => {
    const asB = nodeToken(t.cluster.layout.clusterSecret, 'node-b');
    const scan = { nodeId: 'node-a', scannedAt: new Date().toISOString(), crashed: true, replicas: [] };
    const res = await call('/v1/nodes/node-a/recovery-reports', { method: 'POST', token: asB, body: JSON.stringify(scan) });
    expect(res.status).toBe(403);
    const inBody = await call('/v1/nodes/node-b/recovery-reports', { method: 'POST', token: asB, body: JSON.stringify(scan) });
    expect(inBody.status).toBe(403);
    expect((await t.db.query('select count(*)::int as n from recovery_events')).rows[0].n).toBe(0);
    expect((await t.operator.fleet()).summary.recovering).toBe(0);
  });

  it('refuses to let the shared join token take over a registered node id', async () => {
    const join = joinToken(t.cluster.layout.clusterSecret);
    const body = JSON.stringify({ nodeId: 'node-a', url: 'http://127.0.0.1:1', domainPath: 'dc1/az1/r1/p1/h1', capacityBytes: 1 });
    const res = await call('/v1/nodes/register', { method: 'POST', token: join, body });
    expect(res.status).toBe(403);
    expect((await t.operator.fleet()).nodes.find((n) => n.nodeId === 'node-a')!.url).toBe(t.cluster.nodeUrl('node-a'));
  });

  it('answers unknown paths with the same JSON error shape', async () => {
    const res = await call('/v2/nothing');
    expect(res.status).toBe(404);
    expect(res.body.error?.code).toBe('not-found');
  });
});
