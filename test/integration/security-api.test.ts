// The control plane under abuse (issue 9): internal webhook URLs are refused and store nothing;
// quotas; rejected requests change nothing; every query parameter is validated.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '../support/test-cluster.js';

describe('the API under abuse', () => {
  let t: TestCluster;
  let api = '';

  beforeAll(async () => {
    t = await startTestCluster('security-api', {
      nodes: [
        { nodeId: 'node-a', domainPath: 'dc1/az1/r1/p1/h1' },
        { nodeId: 'node-b', domainPath: 'dc1/az1/r1/p2/h2' },
      ],
    });
    api = t.cluster.apiUrl;
  });
  afterAll(() => t?.stop());

  async function call(path: string, init: { method?: string; token?: string; body?: unknown } = {}) {
    const headers: Record<string, string> = { 'content-type': 'application/json', authorization: `Bearer ${init.token ?? t.customer.token}` };
    const body = init.body === undefined ? undefined : JSON.stringify(init.body);
    const res = await fetch(`${api}${path}`, { method: init.method ?? 'GET', headers, body });
    return { status: res.status, headers: res.headers, body: (await res.json()) as { error?: { code: string; message: string } } & Record<string, unknown> };
  }
  const count = async (table: string) => (await t.db.query(`select count(*)::int as n from ${table}`)).rows[0].n as number;

  it('refuses webhook URLs that reach internal addresses, in every spelling, and stores nothing', async () => {
    for (const url of [
      'http://127.0.0.1/hook', 'http://169.254.169.254/latest/meta-data/', 'http://[::1]/hook', 'http://0/hook', 'http://0.0.0.0/hook',
      'http://10.1.2.3/hook', 'http://192.168.0.1/hook', 'http://[::ffff:127.0.0.1]/hook', 'http://localhost:8080/hook', 'http://2130706433/',
    ]) {
      const res = await call('/v1/webhook', { method: 'PUT', body: { url } });
      expect(res.status, url).toBe(400);
      expect(res.body.error?.code, url).toBe('forbidden-webhook-url');
    }
    expect(await count('webhooks')).toBe(0);
  });
});
