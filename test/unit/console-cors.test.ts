// The console's cross-origin answers (api/console-cors.ts): another API answers a console opened
// from one of the configured APIs — the preflight for its Authorization header included — and
// names that origin, never `*`; any other origin gets no cross-origin answer at all.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { loadApiConfig } from '../../api/config.js';
import { consoleCors } from '../../api/console-cors.js';

const CONSOLE = 'http://127.0.0.1:8080';
const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** An API with the middleware on /v1 and one route that wants a bearer token, as the real ones do. */
async function api(consoleApiUrls: string[]): Promise<string> {
  const app = express();
  app.use('/v1', consoleCors(consoleApiUrls));
  app.get('/v1/volumes', (req, res) => {
    if (!req.headers.authorization) return void res.status(401).json({ error: { code: 'unauthorized', message: 'no key' } });
    res.json({ volumes: [] });
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const preflight = (url: string, origin: string) =>
  fetch(`${url}/v1/volumes`, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
  });

describe('the console cross-origin middleware', () => {
  it('when a console from a listed API sends the preflight, then it is answered for that origin, Authorization allowed', async () => {
    const url = await api([`${CONSOLE}/`, 'http://127.0.0.1:8081']);
    const res = await preflight(url, CONSOLE);
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(CONSOLE);
    expect(res.headers.get('access-control-allow-headers')).toMatch(/\bauthorization\b/);
    expect(res.headers.get('access-control-allow-methods')).toMatch(/\bPATCH\b/);
    expect(res.headers.get('vary')).toMatch(/Origin/i);
  });

  it('when a console from a listed API sends a request, then the answer, an error too, names its origin', async () => {
    const url = await api([CONSOLE]);
    const ok = await fetch(`${url}/v1/volumes`, { headers: { origin: CONSOLE, authorization: 'Bearer bsk_x' } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe(CONSOLE);
    const refused = await fetch(`${url}/v1/volumes`, { headers: { origin: CONSOLE } });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('access-control-allow-origin')).toBe(CONSOLE);
  });

  it('when the origin is not listed, then nothing cross-origin is answered, and never *', async () => {
    const url = await api([CONSOLE]);
    const res = await preflight(url, 'http://evil.example');
    expect(res.status).not.toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    const get = await fetch(`${url}/v1/volumes`, { headers: { origin: 'http://127.0.0.1:9999', authorization: 'Bearer bsk_x' } });
    expect(get.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('when no console URL is configured, then no request gets a cross-origin header', async () => {
    const url = await api([]);
    const res = await preflight(url, CONSOLE);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect(res.headers.get('access-control-allow-methods')).toBeNull();
  });
});

describe('CONSOLE_API_URLS', () => {
  const required = {
    DATABASE_URL: 'postgres://x@127.0.0.1/x',
    CLUSTER_SECRET: 'a-cluster-secret-of-some-length',
    OPERATOR_TOKEN: 'an-operator-token-of-some-length',
    SNAPSHOT_STORE: '/tmp/snapshots',
  };
  const urls = (value?: string) => loadApiConfig({ ...required, CONSOLE_API_URLS: value }).consoleApiUrls;

  it('is a comma list of API base URLs, none by default (same origin only)', () => {
    expect(urls()).toEqual([]);
    expect(urls('')).toEqual([]);
    expect(urls('http://a.example:8080/, http://b.example:8081')).toEqual(['http://a.example:8080', 'http://b.example:8081']);
  });

  it('when a URL is bad, then the API does not start, and says which setting', () => {
    expect(() => urls('a.example:8080')).toThrow(/CONSOLE_API_URLS: an API URL must be http or https/);
    expect(() => urls('http://')).toThrow(/CONSOLE_API_URLS: not an API URL/);
    expect(() => urls(' , ')).toThrow(/CONSOLE_API_URLS: no API URL given/);
  });
});
