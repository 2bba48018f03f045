// The API's data path under load from one customer: in-flight requests and bytes are capped per
// volume and per customer (429 with Retry-After, in the one error shape, nothing admitted is
// dropped), and following the primary costs the inventory per volume, not per request.
import express from 'express';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { AppError, errorMiddleware } from '../../api/errors.js';
import { holdIo } from '../../api/routes/io-holds.js';
import { HoldLimits, RequestLimits } from '../../api/use-cases/hold-limits.js';
import { VolumeWatch, type Route } from '../../api/use-cases/volume-watch.js';

const caps = { perVolumeRequests: 2, perVolumeBytes: 8192, perCustomerRequests: 3, perCustomerBytes: 1 << 20 };
const refusal = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return err as AppError;
  }
  throw new Error('not refused');
};

describe('in-flight caps', () => {
  it('refuses a request past a volume’s cap with 429 and Retry-After, and admits again once one is answered', () => {
    const holds = new HoldLimits(caps, 3);
    const first = holds.acquire('c1', 'v1', 100);
    holds.acquire('c1', 'v1', 100);
    const err = refusal(() => holds.acquire('c1', 'v1', 100));
    expect(err).toMatchObject({ status: 429, code: 'too-many-requests', headers: { 'retry-after': '3' } });
    first();
    first(); // releasing twice frees one slot only
    expect(() => holds.acquire('c1', 'v1', 100)).not.toThrow();
    expect(() => holds.acquire('c1', 'v1', 100)).toThrow(AppError);
  });

  it('caps bytes per volume, and requests per customer across its volumes', () => {
    const holds = new HoldLimits(caps, 1);
    holds.acquire('c1', 'v1', 8000);
    expect(refusal(() => holds.acquire('c1', 'v1', 200))).toMatchObject({ status: 429, code: 'too-many-bytes' });
    holds.acquire('c1', 'v2', 1);
    holds.acquire('c1', 'v3', 1);
    expect(refusal(() => holds.acquire('c1', 'v4', 1)).message).toMatch(/this customer/);
    expect(holds.usage('c1')).toEqual({ requests: 3, bytes: 8002 });
  });

  it('counts a request against its caller only, even when it names another tenant’s volume', () => {
    const holds = new HoldLimits(caps, 1);
    holds.acquire('mallory', 'v1', 1);
    holds.acquire('mallory', 'v1', 1);
    expect(() => holds.acquire('alice', 'v1', 1)).not.toThrow();
  });

  it('bounds concurrent requests of any kind per customer', () => {
    const requests = new RequestLimits(2, 1);
    const release = requests.acquire('c1');
    requests.acquire('c1');
    expect(refusal(() => requests.acquire('c1'))).toMatchObject({ status: 429, headers: { 'retry-after': '1' } });
    expect(() => requests.acquire('c2')).not.toThrow();
    release();
    expect(() => requests.acquire('c1')).not.toThrow();
  });
});

describe('the data route’s admission', () => {
  let close = () => undefined as unknown;
  afterEach(() => close());

  it('answers requests past the cap at once with 429 in the one error shape, and serves every admitted one', async () => {
    const holds = new HoldLimits({ ...caps, perVolumeBytes: 64 << 20, perCustomerBytes: 64 << 20 }, 5);
    let releaseHeld: (v?: unknown) => void = () => undefined;
    const held = new Promise((r) => (releaseHeld = r));
    const app = express();
    app.use((_req, res, next) => ((res.locals.customerId = 'c1'), next()));
    app.get('/v1/volumes/:id/data', holdIo(holds, 'read'), (_req, res) => void held.then(() => res.json({ ok: true })));
    app.use(errorMiddleware);
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    close = () => server.close();
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/volumes/v1/data`;

    const admitted = [fetch(url), fetch(url)];
    await new Promise((r) => setTimeout(r, 100));
    const refused = await fetch(url);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('5');
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('too-many-requests');
    releaseHeld();
    for (const res of await Promise.all(admitted)) expect(res.status).toBe(200);
    await new Promise((r) => setTimeout(r, 50));
    expect(holds.usage('c1')).toEqual({ requests: 0, bytes: 0 });
  });
});

describe('the shared primary watch', () => {
  const route = (nodeId: string): Route => ({ volume: null, primary: { nodeId, nodeBootId: 'b' } as Route['primary'] });

  it('loads once for any number of waiting requests, polls only while one is in flight, and stops after', async () => {
    let loads = 0;
    const watch = new VolumeWatch(async () => (loads++, route('n1')), 50);
    const handles = Array.from({ length: 500 }, () => watch.open('v1'));
    await Promise.all(handles.map((h) => h.route(Date.now())));
    expect(loads).toBe(1);
    await new Promise((r) => setTimeout(r, 280));
    expect(loads).toBeGreaterThanOrEqual(4);
    expect(loads).toBeLessThanOrEqual(7); // about one per 50 ms for all 500 requests, not 500 per tick
    for (const h of handles) h.close();
    expect(watch.watched).toBe(0);
    const after = loads;
    await new Promise((r) => setTimeout(r, 150));
    expect(loads).toBe(after);
  });

  it('tells every waiting request what each load found, so a moved primary is noticed once for all', async () => {
    let primary = 'n1';
    const watch = new VolumeWatch(async () => route(primary), 30);
    const handles = [watch.open('v1'), watch.open('v1')];
    const seen: string[] = [];
    for (const h of handles) h.onLoad((r) => seen.push(r.primary!.nodeId));
    primary = 'n2';
    await new Promise((r) => setTimeout(r, 50));
    expect(seen.slice(0, 2)).toEqual(['n2', 'n2']);
    for (const h of handles) h.close();
  });
});
