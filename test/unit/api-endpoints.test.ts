// Several API URLs behind one client: it moves on when an API does not answer, and repeats a
// request on the next API only when repeating it is harmless.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiEndpoints, parseApiUrls } from '../../common/api-endpoints.js';
import { HttpError } from '../../common/http.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** An API answering `{ from: name }`, or cutting the connection without an answer. */
async function api(name: string, behaviour: 'answer' | 'hang-up' | 'fail' = 'answer'): Promise<{ url: string; hits: string[] }> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    if (behaviour === 'hang-up') return void req.socket.destroy();
    if (behaviour === 'fail')
      return void res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":{"code":"boom","message":"boom"}}');
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ from: name }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits };
}

/** A URL nothing listens on: connections are refused. */
async function closedUrl(): Promise<string> {
  const { url } = await api('closed');
  await new Promise((r) => servers.pop()!.close(r));
  return url;
}

describe('parseApiUrls', () => {
  it('takes one URL or several, comma or space separated, without duplicates or trailing slashes', () => {
    expect(parseApiUrls('http://a:1/, http://b:2 http://a:1')).toEqual(['http://a:1', 'http://b:2']);
  });
  it('refuses what is not an http(s) URL, and an empty list', () => {
    expect(() => parseApiUrls('ftp://a')).toThrow(/http or https/);
    expect(() => parseApiUrls('a:b:c')).toThrow(/not an API URL|http or https/);
    expect(() => parseApiUrls(' , ')).toThrow(/no API URL/);
  });
});

describe('ApiEndpoints', () => {
  it('moves to the next API when the current one refuses connections, for any method, and stays there', async () => {
    const b = await api('b');
    const endpoints = new ApiEndpoints([await closedUrl(), b.url]);
    expect(await endpoints.requestJson('/x', { method: 'POST', body: {} })).toEqual({ from: 'b' });
    expect(endpoints.url).toBe(b.url);
    expect(await endpoints.requestJson('/y')).toEqual({ from: 'b' });
    expect(b.hits).toEqual(['POST /x', 'GET /y']);
  });

  it('repeats an idempotent request on the next API when the first hung up mid-request', async () => {
    const a = await api('a', 'hang-up');
    const b = await api('b');
    expect(await new ApiEndpoints([a.url, b.url]).requestJson('/v')).toEqual({ from: 'b' });
    expect(a.hits).toEqual(['GET /v']);
  });

  it('never repeats a POST that may have reached an API: it fails, and the next request goes elsewhere', async () => {
    const a = await api('a', 'hang-up');
    const b = await api('b');
    const endpoints = new ApiEndpoints([a.url, b.url]);
    await expect(endpoints.requestJson('/create', { method: 'POST', body: {} })).rejects.toThrow();
    expect(b.hits).toEqual([]);
    expect(await endpoints.requestJson('/create', { method: 'POST', body: {} })).toEqual({ from: 'b' });
  });

  it('does not move on an HTTP answer, even an error: that API is up', async () => {
    const a = await api('a', 'fail');
    const b = await api('b');
    const endpoints = new ApiEndpoints([a.url, b.url]);
    await expect(endpoints.requestJson('/v')).rejects.toBeInstanceOf(HttpError);
    expect(endpoints.url).toBe(a.url);
    expect(b.hits).toEqual([]);
  });

  it('fails with the last error when no API answers', async () => {
    const endpoints = new ApiEndpoints([await closedUrl(), await closedUrl()]);
    await expect(endpoints.requestJson('/v')).rejects.toThrow(/fetch failed/);
  });
});
