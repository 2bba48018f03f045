// Requests Node's own HTTP parser refuses still get the one error shape.
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Server } from 'node:http';
import { boundPort, closeServer, listen } from '../../common/listen.js';

describe('an HTTP server started by listen()', () => {
  let server: Server;
  beforeAll(async () => {
    server = await listen((_req, res) => res.end('ok'), 0);
  });
  afterAll(() => closeServer(server));

  it('answers headers past 16 KiB with 431 in the one error shape (fuzz seed 1 case 1253)', async () => {
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ port: boundPort(server), path: `/${'a'.repeat(20_000)}` }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(answer.status).toBe(431);
    expect(JSON.parse(answer.body)).toMatchObject({ error: { code: 'headers-too-large' } });
  });
});
