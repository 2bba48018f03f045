// The web console's move between APIs (console/src/endpoints.ts), by the rules of the Node clients'
// ApiEndpoints: an API that does not answer is left for the next; a request whose repeat changes
// nothing is sent again there, any other fails with its own error and the next request moves on.
import { describe, expect, it } from 'vitest';
import { ConsoleEndpoints, idempotentMethod, NoAnswer } from '../../console/src/endpoints.js';

const A = 'http://127.0.0.1:8080';
const B = 'http://127.0.0.1:8081';

/** A browser's fetch against APIs that are `up` or down (fetch rejects, as a browser's does). */
function browser(up: Record<string, boolean>) {
  const sent: string[] = [];
  const send = async (url: string, init: RequestInit) => {
    sent.push(`${init.method} ${url}`);
    if (!up[new URL(url).origin]) throw new TypeError('Failed to fetch');
    return new Response('{}', { status: new URL(url).pathname === '/v1/missing' ? 404 : 200 });
  };
  return { sent, send };
}

const reason = (p: Promise<unknown>) =>
  p.then(
    () => 'answered',
    (err: NoAnswer) => err.reason,
  );

describe('the console between several APIs', () => {
  it('starts on the API that served the page, wherever the list names it', () => {
    expect(new ConsoleEndpoints([A, `${B}/`], B).base).toBe(B);
    expect(new ConsoleEndpoints([], A).bases).toEqual([A]);
    expect(new ConsoleEndpoints([B], A).bases).toEqual([A, B]);
  });

  it('when its API stops answering, then a read is sent to the next one, which answers from then on', async () => {
    const { sent, send } = browser({ [A]: false, [B]: true });
    const endpoints = new ConsoleEndpoints([A, B], A, send);
    expect((await endpoints.fetch('/v1/volumes', { method: 'GET' }, idempotentMethod('GET'))).status).toBe(200);
    await endpoints.fetch('/v1/volumes', { method: 'GET' }, true);
    expect(sent).toEqual([`GET ${A}/v1/volumes`, `GET ${B}/v1/volumes`, `GET ${B}/v1/volumes`]);
  });

  it('when a decision idempotent by design meets a dead API, then it is sent again to the next', async () => {
    const { sent, send } = browser({ [A]: false, [B]: true });
    const endpoints = new ConsoleEndpoints([A, B], A, send);
    await endpoints.fetch('/v1/volumes/vol-1/enable-io', { method: 'POST' }, true);
    expect(sent).toEqual([`POST ${A}/v1/volumes/vol-1/enable-io`, `POST ${B}/v1/volumes/vol-1/enable-io`]);
  });

  it('when a request that is not idempotent meets a dead API, then it fails without a repeat, and the next request goes to the next API', async () => {
    const { sent, send } = browser({ [A]: false, [B]: true });
    const endpoints = new ConsoleEndpoints([A, B], A, send);
    expect(idempotentMethod('POST')).toBe(false);
    expect(await reason(endpoints.fetch('/v1/volumes/vol-1/snapshots', { method: 'POST' }, false))).toBe('not-repeated');
    await endpoints.fetch('/v1/volumes', { method: 'GET' }, true);
    expect(sent).toEqual([`POST ${A}/v1/volumes/vol-1/snapshots`, `GET ${B}/v1/volumes`]);
  });

  it('when no API answers, then the request fails as unanswered, once it was tried on each', async () => {
    const { sent, send } = browser({});
    expect(await reason(new ConsoleEndpoints([A, B], A, send).fetch('/v1/volumes', { method: 'GET' }, true))).toBe('every-api');
    expect(sent).toHaveLength(2);
    expect(await reason(new ConsoleEndpoints([], A, send).fetch('/v1/x', { method: 'POST' }, false))).toBe('every-api');
  });

  it('when an API answers with an HTTP error, then that is its answer: the console stays', async () => {
    const { sent, send } = browser({ [A]: true, [B]: true });
    const endpoints = new ConsoleEndpoints([A, B], A, send);
    expect((await endpoints.fetch('/v1/missing', { method: 'GET' }, true)).status).toBe(404);
    expect(endpoints.base).toBe(A);
    expect(sent).toEqual([`GET ${A}/v1/missing`]);
  });
});
