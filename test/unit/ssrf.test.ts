// Webhook URLs cannot reach the API's own machine or internal networks (SSRF): every spelling
// of an internal address is refused after resolution, unless an operator allowed the host by
// name, and a delivery connects to the address it checked (no second DNS answer is used).
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postWebhook, resolveWebhookTarget, WebhookTargetError, type Resolver } from '../../api/webhook-target.js';
import { isForbiddenAddress } from '../../common/webhooks.js';

const none = new Set<string>();
const FORBIDDEN_URLS = [
  'http://127.0.0.1/',
  'http://169.254.169.254/latest/meta-data',
  'http://[::1]/',
  'http://0/',
  'http://0.0.0.0/',
  'http://10.1.2.3/',
  'http://192.168.0.1/',
  'http://172.16.5.4/',
  'http://[::ffff:127.0.0.1]/',
  'http://[fd00::1]/',
  'http://[fe80::1]/',
  'http://224.0.0.1/',
  'http://2130706433/',
  'http://0x7f.1/',
  'http://localhost:8080/',
  'https://LOCALHOST/',
];

describe('webhook targets', () => {
  it('classifies loopback, link-local, private, unique-local, unspecified, multicast and mapped addresses as internal', () => {
    for (const a of [
      '127.0.0.1',
      '127.9.9.9',
      '169.254.169.254',
      '::1',
      '::',
      '0.0.0.0',
      '10.1.2.3',
      '192.168.0.1',
      '172.31.0.1',
      '100.64.0.1',
      '::ffff:127.0.0.1',
      '::ffff:8.8.8.8',
      'fd12::1',
      'fe80::1',
      'ff02::1',
      '239.1.1.1',
      '64:ff9b::7f00:1',
      'not-an-ip',
    ]) {
      expect(isForbiddenAddress(a), a).toBe(true);
    }
    for (const a of ['8.8.8.8', '93.184.216.34', '2606:4700::1111']) expect(isForbiddenAddress(a), a).toBe(false);
  });

  it('refuses every internal form of a URL, including a name that resolves to loopback', async () => {
    for (const url of FORBIDDEN_URLS) {
      await expect(resolveWebhookTarget(new URL(url), none), url).rejects.toBeInstanceOf(WebhookTargetError);
    }
  });

  it('refuses a name when any of its addresses is internal', async () => {
    const resolver: Resolver = async () => [
      { address: '93.184.216.34', family: 4 },
      { address: '10.0.0.1', family: 4 },
    ];
    await expect(resolveWebhookTarget(new URL('https://mixed.example/'), none, resolver)).rejects.toThrow(/10\.0\.0\.1/);
  });

  it('lets an operator allow a named internal host', async () => {
    expect((await resolveWebhookTarget(new URL('http://127.0.0.1:9/'), new Set(['127.0.0.1']))).address).toBe('127.0.0.1');
    const resolver: Resolver = async () => [{ address: '10.0.0.7', family: 4 }];
    expect((await resolveWebhookTarget(new URL('http://hooks.internal/'), new Set(['hooks.internal']), resolver)).address).toBe('10.0.0.7');
  });
});

describe('webhook delivery', () => {
  const received: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    received.push(req.headers);
    req.resume();
    req.on('end', () => res.writeHead(204).end());
  });
  let port = 0;
  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise((r) => server.close(r)));
  const delivery = { headers: {}, body: '{}', timeoutMs: 2000, signal: new AbortController().signal };

  it('refuses to post to an internal address that is not allowed, and sends nothing', async () => {
    const before = received.length;
    await expect(postWebhook(`http://127.0.0.1:${port}/hook`, { ...delivery, allowHosts: none })).rejects.toBeInstanceOf(
      WebhookTargetError,
    );
    await expect(postWebhook(`http://localhost:${port}/hook`, { ...delivery, allowHosts: none })).rejects.toBeInstanceOf(
      WebhookTargetError,
    );
    expect(received.length).toBe(before);
  });

  it('connects to the address it checked, once resolved, with the URL host as Host', async () => {
    let lookups = 0;
    // the second answer would be a rebinding; the delivery must never ask again
    const resolver: Resolver = async () => (lookups++ === 0 ? [{ address: '127.0.0.1', family: 4 }] : [{ address: '10.9.9.9', family: 4 }]);
    const status = await postWebhook(`http://hooks.internal:${port}/hook`, {
      ...delivery,
      allowHosts: new Set(['hooks.internal']),
      resolver,
    });
    expect(status).toBe(204);
    expect(lookups).toBe(1);
    expect(received.at(-1)?.host).toBe(`hooks.internal:${port}`);
  });
});
