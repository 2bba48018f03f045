// `serverErrors` and `databaseErrors` of a compound chaos run are read off the processes' JSON
// log lines: a 5xx answer other than 503 (the one "retry" answer) is a server error; a Postgres
// protocol or connection failure is a database error; each line is judged once.
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { databaseErrorIn, LogCursor, serverErrorIn } from '../../chaos/process-logs.js';

const request = (status: number) =>
  JSON.stringify({ level: status >= 500 ? 50 : 20, reqId: 'r1', method: 'POST', path: '/v1/x', status, ms: 3, msg: 'request' });
const BIND =
  '{"level":50,"err":{"message":"bind message supplies 4 parameters, but prepared statement \\"\\" requires 1"},"msg":"unexpected error"}';

describe('chaos log findings', () => {
  it('count a request answered 5xx, but not 503 nor any other status, nor a line that is not a request', () => {
    expect(serverErrorIn(request(500))).toBe(true);
    expect(serverErrorIn(request(502))).toBe(true);
    expect(serverErrorIn(request(503))).toBe(false);
    expect(serverErrorIn(request(409))).toBe(false);
    expect(serverErrorIn(request(200))).toBe(false);
    expect(serverErrorIn(JSON.stringify({ status: 500, msg: 'node answered' }))).toBe(false);
    expect(serverErrorIn('not json "status":500')).toBe(false);
  });

  it('count protocol and connection failures of the database, not ordinary lines', () => {
    expect(databaseErrorIn(BIND)).toBe(true);
    expect(databaseErrorIn('{"msg":"Activity failed","error":"Connection terminated unexpectedly"}')).toBe(true);
    expect(databaseErrorIn('{"msg":"current transaction is aborted, commands ignored until end of transaction block"}')).toBe(true);
    expect(databaseErrorIn(request(500))).toBe(false);
    expect(databaseErrorIn('{"msg":"node node-1 missed its heartbeats: down (incident 3)"}')).toBe(false);
  });

  describe('the cursor', () => {
    let dir = '';
    afterEach(() => rm(dir, { recursive: true, force: true }));

    it('judges each complete line once, leaves the Temporal server its own database, and waits for a line still being written', async () => {
      dir = await mkdtemp(join(tmpdir(), 'chaos-logs-'));
      await writeFile(join(dir, 'api.log'), `${request(500)}\n${request(200)}\n`);
      await writeFile(join(dir, 'temporal.log'), `prepared statement "x" does not exist\n`);
      await writeFile(join(dir, 'notes.txt'), `${request(500)}\n`);
      const cursor = new LogCursor(dir);
      expect(await cursor.scan()).toEqual({ serverErrors: [`api.log: ${request(500)}`], databaseErrors: [] });

      await appendFile(join(dir, 'api.log'), `${BIND}\n${request(504).slice(0, 20)}`);
      // (BIND carries no reqId: a later 5xx is not blamed on it)
      expect(await cursor.scan()).toEqual({ serverErrors: [], databaseErrors: [`api.log: ${BIND}`] });
      await appendFile(join(dir, 'api.log'), `${request(504).slice(20)}\n`);
      expect((await cursor.scan()).serverErrors).toEqual([`api.log: ${request(504)}`]);
      expect(await cursor.scan()).toEqual({ serverErrors: [], databaseErrors: [] });
    });

    it('names the error a request logged before its 5xx answer', async () => {
      dir = await mkdtemp(join(tmpdir(), 'chaos-logs-'));
      const cause = JSON.stringify({ level: 50, reqId: 'r1', err: { message: 'ENOENT: rename meta.json.tmp' }, msg: 'storage-node error' });
      await writeFile(join(dir, 'node-1.log'), `${cause}\n${request(500)}\n`);
      expect((await new LogCursor(dir).scan()).serverErrors).toEqual([`node-1.log: ${request(500)} ← ENOENT: rename meta.json.tmp`]);
    });
  });
});
