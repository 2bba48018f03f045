// Customer notifications: a real failover event reaches the owner's webhook, signed with the
// secret the API returned, retried with growing gaps through two 500s; a receiver that hangs
// holds up no one else; the event feed shows each customer its own events only; a bad webhook
// URL is a 400 that stores nothing.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BlackstartClient } from '../../cli/client.js';
import { verifyWebhook } from '../../common/webhooks.js';
import { copiesOf, eventually, startTestCluster, type TestCluster } from '../support/test-cluster.js';

const RETRY_BASE_MS = 400;

interface Receipt {
  at: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A webhook receiver that answers each request with the next status of `statuses` (the last one repeats), or never when null. */
async function startReceiver(statuses: (number | null)[]): Promise<{ server: Server; url: string; receipts: Receipt[] }> {
  const receipts: Receipt[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      receipts.push({ at: Date.now(), headers: req.headers, body: Buffer.concat(chunks).toString() });
      const status = statuses[Math.min(receipts.length, statuses.length) - 1];
      if (status !== null && status !== undefined) res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/blackstart`, receipts };
}

describe('customer notifications', () => {
  let t: TestCluster;
  let other: BlackstartClient;
  let flaky: Awaited<ReturnType<typeof startReceiver>>;
  let hanging: Awaited<ReturnType<typeof startReceiver>>;
  let api = '';

  beforeAll(async () => {
    t = await startTestCluster('notifications', {
      nodes: [
        { nodeId: 'node-a', domainPath: 'dc1/az1/r1/p1/h1' },
        { nodeId: 'node-b', domainPath: 'dc1/az1/r1/p2/h2' },
      ],
      // two nodes: one silent node is half the fleet, which the mass-outage breaker would hold;
      // the receivers listen on loopback, which webhooks may reach only when an operator allows it
      env: {
        WEBHOOK_ALLOW_HOSTS: '127.0.0.1',
        MASS_OUTAGE_SHARE: '1',
        WEBHOOK_POLL_MS: '50',
        WEBHOOK_RETRY_BASE_MS: String(RETRY_BASE_MS),
        WEBHOOK_TIMEOUT_MS: '1000',
      },
    });
    api = t.cluster.apiUrl;
    other = t.operator.withToken((await t.operator.createCustomer('other')).apiKey);
    flaky = await startReceiver([500, 500, 200]);
    hanging = await startReceiver([null]);
  });
  afterAll(async () => {
    for (const r of [flaky, hanging]) r?.server.closeAllConnections();
    for (const r of [flaky, hanging]) r?.server.close();
    await t?.stop();
  });

  async function putWebhook(token: string, body: string) {
    const res = await fetch(`${api}/v1/webhook`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body,
    });
    return { status: res.status, body: (await res.json()) as { error?: { code: string } } };
  }

  it('rejects a bad webhook URL with 400 and stores nothing', async () => {
    for (const body of [
      { url: 'ftp://example.com/hook' },
      { url: 'not a url' },
      { url: `https://example.com/${'a'.repeat(2048)}` },
      { url: 'https://example.com/hook', secret: 'mine' },
      {},
    ]) {
      const res = await putWebhook(t.customer.token, JSON.stringify(body));
      expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(res.body.error?.code).toBe('invalid-request');
    }
    expect((await putWebhook(t.customer.token, '{"url":')).status).toBe(400);
    expect((await putWebhook('bsk_not-a-key', JSON.stringify({ url: flaky.url }))).status).toBe(401);
    await expect(t.customer.webhook()).rejects.toMatchObject({ status: 404 });
    expect((await t.db.query('select count(*)::int as n from webhooks')).rows[0].n).toBe(0);
  });

  it('sets a webhook with a server-made secret that every PUT rotates, and never shows it again', async () => {
    const first = await t.customer.setWebhook(flaky.url);
    const second = await t.customer.setWebhook(flaky.url);
    expect(first.secret).toMatch(/^whsec_/);
    expect(second.secret).not.toBe(first.secret);
    const shown = await t.customer.webhook();
    expect(shown).toMatchObject({ url: flaky.url, deliveries: { pending: 0, delivered: 0, failed: 0 } });
    expect(JSON.stringify(shown)).not.toContain(second.secret);
  });

  it('delivers a failover event signed with the secret, retrying with growing gaps', async () => {
    const { secret } = await t.customer.setWebhook(flaky.url);
    await other.setWebhook(hanging.url);
    const mine = (await t.customer.createVolume(64 * 1024)).volumeId;
    const theirs = (await other.createVolume(64 * 1024)).volumeId;

    // when a node holding both volumes' copies loses power, then each volume fails over: a recorded event
    await t.cluster.killNode((await copiesOf(t, mine))[0]!.nodeId);
    const receipts = await eventually('three deliveries', async () => flaky.receipts.length >= 3 && flaky.receipts, 30_000);

    for (const r of receipts) {
      expect(r.headers['content-type']).toBe('application/json');
      expect(verifyWebhook(secret, String(r.headers['x-blackstart-timestamp']), r.body, String(r.headers['x-blackstart-signature']))).toBe(
        true,
      );
      expect(r.body).toBe(receipts[0]!.body);
    }
    const payload = JSON.parse(receipts[0]!.body) as Record<string, unknown>;
    expect(payload).toMatchObject({ volumeId: mine, code: 'failover', kind: 'recorded', proof: null });
    expect(String(payload.eventId)).toBe(receipts[0]!.headers['x-blackstart-event-id']);
    expect(Date.parse(String(payload.endedAt))).toBeGreaterThan(0);

    const [gap1, gap2] = [receipts[1]!.at - receipts[0]!.at, receipts[2]!.at - receipts[1]!.at];
    expect(gap1, `gaps ${gap1}, ${gap2} ms`).toBeGreaterThanOrEqual(0.75 * RETRY_BASE_MS - 20);
    expect(gap2, `gaps ${gap1}, ${gap2} ms`).toBeGreaterThan(gap1);
    await eventually('delivered', async () => (await t.customer.webhook()).deliveries.delivered === 1);
    expect((await t.customer.webhook()).deliveries).toEqual({ pending: 0, delivered: 1, failed: 0 });

    // the hanging receiver was tried and timed out, and held up neither this delivery nor the API
    const stuck = await eventually('a timed-out attempt', async () => {
      const { rows } = await t.db.query(
        `select n.attempts, n.last_error from notifications n join volume_events e on e.id = n.event_id where e.volume_id = $1`,
        [theirs],
      );
      return rows[0]?.attempts >= 1 && rows[0];
    });
    expect(stuck.last_error).toMatch(/no answer within 1000 ms/);
    expect((await other.webhook()).deliveries).toMatchObject({ delivered: 0, failed: 0 });

    await new Promise((r) => setTimeout(r, 3 * RETRY_BASE_MS));
    expect(flaky.receipts).toHaveLength(3);
  });

  it("lists each customer's events in its feed, never another's", async () => {
    const {
      volumes: [mine],
    } = await t.customer.listVolumes();
    const {
      volumes: [theirs],
    } = await other.listVolumes();
    const feed = await t.customer.events();
    expect(feed.events.map((e) => [e.volumeId, e.code])).toEqual([[mine!.volumeId, 'failover']]);
    expect(feed.next).toBe(feed.events[0]!.eventId);
    const delivered = JSON.parse(flaky.receipts[0]!.body) as { eventId: number };
    expect(feed.events[0]!.eventId).toBe(delivered.eventId);

    const theirFeed = await other.events();
    expect(theirFeed.events.map((e) => e.volumeId)).toEqual([theirs!.volumeId]);
    expect(await t.customer.events(feed.next)).toEqual({ events: [], next: feed.next });

    for (const query of ['limit=501', 'limit=0', 'after=-1', 'after=abc', 'color=red']) {
      const res = await fetch(`${api}/v1/events?${query}`, { headers: { authorization: `Bearer ${t.customer.token}` } });
      expect(res.status, query).toBe(400);
    }
  });

  it('deletes the webhook and what it had not delivered', async () => {
    expect(await other.deleteWebhook()).toEqual({ deleted: true });
    await expect(other.webhook()).rejects.toMatchObject({ status: 404 });
    await expect(other.deleteWebhook()).rejects.toMatchObject({ status: 404 });
    expect((await t.customer.webhook()).url).toBe(flaky.url);
  });
});
