// Every answer these calls get — successes and errors, customer, operator and node — is checked
// against the OpenAPI document (test/support/openapi-check.ts): an answer that does not match
// the document fails the test.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkedFetch } from '../support/openapi-check.js';
import { startTestCluster, type TestCluster } from '../support/test-cluster.js';

describe('the API answers as its OpenAPI document says', () => {
  let t: TestCluster;
  let api = '';
  let key = '';
  let op = '';
  let volumeId = '';

  beforeAll(async () => {
    t = await startTestCluster('openapi-responses', {
      nodes: [
        { nodeId: 'node-a', domainPath: 'dc1/az1/r1/p1/h1' },
        { nodeId: 'node-b', domainPath: 'dc1/az1/r1/p2/h2' },
      ],
    });
    api = t.cluster.apiUrl;
    key = t.customer.token;
    op = t.cluster.operatorToken;
  });
  afterAll(() => t?.stop());

  function call(method: string, path: string, opts: { token?: string; json?: unknown; bytes?: Buffer } = {}) {
    const headers: Record<string, string> = {};
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    if (opts.json !== undefined) headers['content-type'] = 'application/json';
    if (opts.bytes) headers['content-type'] = 'application/octet-stream';
    const body = opts.json !== undefined ? JSON.stringify(opts.json) : opts.bytes;
    return checkedFetch(`${api}${path}`, { method, headers, body: body as BodyInit | undefined });
  }

  it('when a customer uses volumes, snapshots, policies, webhooks and events, then every answer matches', async () => {
    const created = await call('POST', '/v1/volumes', { token: key, json: { sizeBytes: 256 * 1024 } });
    expect(created.status).toBe(201);
    volumeId = (created.body as { volumeId: string }).volumeId;
    const v = `/v1/volumes/${volumeId}`;
    const statuses = [
      (await call('GET', '/v1/volumes', { token: key })).status,
      (await call('GET', v, { token: key })).status,
      (await call('PATCH', v, { token: key, json: { autoEnableIo: true } })).status,
      (await call('GET', `${v}/status`, { token: key })).status,
      (await call('PUT', `${v}/data?offset=0`, { token: key, bytes: Buffer.from('hello') })).status,
      (await call('GET', `${v}/data?offset=0&length=5`, { token: key })).status,
      (await call('POST', `${v}/attachments`, { token: key, json: {} })).status,
      (await call('POST', `${v}/review-grants`, { token: key })).status,
      (await call('POST', `${v}/enable-io`, { token: key })).status,
      (await call('GET', `${v}/snapshots`, { token: key })).status,
      (await call('GET', '/v1/events', { token: key })).status,
      (await call('PUT', `${v}/snapshot-policy`, { token: key, json: { intervalSeconds: 3600, retention: 2 } })).status,
      (await call('GET', `${v}/snapshot-policy`, { token: key })).status,
      (await call('DELETE', `${v}/snapshot-policy`, { token: key })).status,
    ];
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 201, 201, 200, 200, 200, 200, 200, 200]);
    const snap = await call('POST', `${v}/snapshots`, { token: key });
    expect(snap.status).toBe(202);
    await call('GET', `/v1/snapshots/${(snap.body as { snapshotId: string }).snapshotId}`, { token: key });
    const review = await call('GET', `${v}/review-data?offset=0&length=5`, { token: key });
    expect([200, 409]).toContain(review.status);
  });

  it('when requests are wrong, then each error answer is the one error shape the document names', async () => {
    const v = `/v1/volumes/${volumeId}`;
    const answers = [
      await call('POST', '/v1/volumes', { token: key, json: { sizeBytes: 1000 } }),
      await call('GET', '/v1/volumes'),
      await call('GET', '/v1/volumes/vol-nope', { token: key }),
      await call('POST', `${v}/archive`, { token: key }),
      await call('POST', `${v}/transfer`, { token: key }),
      await call('GET', `${v}/data?offset=0&length=0x10`, { token: key }),
      await call('GET', '/v1/events?limit=9999', { token: key }),
      await call('GET', '/v1/webhook', { token: key }),
      await call('DELETE', '/v1/webhook', { token: key }),
      await call('PUT', '/v1/webhook', { token: key, json: { url: 'ftp://x' } }),
      await call('GET', '/v1/snapshots/snap-nope', { token: key }),
      await call('DELETE', '/v1/snapshots/snap-nope', { token: key }),
      await call('GET', '/v1/operator/fleet', { token: key }),
      await call('POST', '/v1/nodes/register', { token: 'nope', json: {} }),
      await call('POST', '/v1/nodes/node-a/heartbeat', { token: 'nope', json: {} }),
      await call('POST', '/v1/nodes/node-a/recovery-reports', { token: 'nope', json: {} }),
    ];
    expect(answers.map((a) => a.status)).toEqual([400, 401, 404, 409, 409, 400, 400, 404, 404, 400, 404, 404, 401, 401, 401, 401]);
  });

  it('when an operator looks at the fleet and changes settings, then every answer matches', async () => {
    const customer = await call('POST', '/v1/operator/customers', { token: op, json: { name: 'openapi' } });
    const id = (customer.body as { customerId: string }).customerId;
    const statuses = [
      customer.status,
      (await call('GET', `/v1/operator/customers/${id}/quota`, { token: op })).status,
      (await call('PUT', `/v1/operator/customers/${id}/quota`, { token: op, json: { maxVolumes: 5 } })).status,
      (await call('GET', '/v1/operator/fleet', { token: op })).status,
      (await call('GET', '/v1/operator/recoveries?limit=5', { token: op })).status,
      (await call('GET', '/v1/operator/admission', { token: op })).status,
      (await call('PUT', '/v1/operator/throttle', { token: op, json: { maxConcurrentRecoveries: 40, massOutageShare: 0.4 } })).status,
      (await call('GET', '/v1/operator/throttle', { token: op })).status,
      (await call('GET', '/v1/operator/customers/cust-nope/quota', { token: op })).status,
      (await call('GET', '/v1/operator/recovery-workflows?limit=10', { token: op })).status,
      (await call('GET', '/v1/operator/breaker', { token: op })).status,
      (await call('GET', '/v1/operator/review-queue', { token: op })).status,
      (await call('GET', '/v1/operator/node-copies', { token: op })).status,
      (await call('GET', '/v1/operator/breaker', { token: key })).status,
    ];
    expect(statuses).toEqual([201, 200, 200, 200, 200, 200, 200, 200, 404, 200, 200, 200, 200, 401]);
  });

  it('serves the document, its reference page, health and metrics as described', async () => {
    expect((await call('GET', '/v1/openapi.json')).status).toBe(200);
    expect((await call('GET', '/docs')).status).toBe(200);
    expect((await call('GET', '/healthz')).status).toBe(200);
    expect((await call('GET', '/metrics')).status).toBe(200);
    expect((await call('DELETE', `/v1/volumes/${volumeId}`, { token: key })).status).toBe(202);
  });
});
