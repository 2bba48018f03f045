// Structured logs: JSON lines with the ids as fields, the Temporal SDK's lines through the same
// logger, request lines with a request id, and npm start's pretty view of the children's files.
import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { describe, expect, it } from 'vitest';
import { followLogs, pinoLine } from '../../cluster/log-follow.js';
import { closeServer, listen } from '../../common/listen.js';
import { createLogger, logLevel } from '../../common/log.js';
import { requestLog } from '../../common/request-log.js';
import { temporalLogger } from '../../workers/temporal-log.js';

function capture(name = 'test') {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger(name, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  log.level = 'debug';
  return { log, lines };
}

describe('structured logs', () => {
  it('when a child logs, then the line is JSON with the process name, the ids and the message', () => {
    const { log, lines } = capture('api');
    log.child({ nodeId: 'node-3', volumeId: 'vol-1' }).warn({ incident: 2 }, 'node node-3 missed its heartbeats');
    expect(lines[0]).toMatchObject({
      level: 40,
      name: 'api',
      nodeId: 'node-3',
      volumeId: 'vol-1',
      incident: 2,
      msg: 'node node-3 missed its heartbeats',
    });
    expect(typeof lines[0]!.time).toBe('string');
  });

  it('when the Temporal SDK logs, then its level and metadata (workflowId…) become the line', () => {
    const { log, lines } = capture('worker');
    const sdk = temporalLogger(log);
    sdk.info('volume recovery: configuration', { workflowId: 'volume-recovery-vol-1-e2', sdkComponent: 'workflow' });
    sdk.log('ERROR', 'Activity failed', { activityType: 'restoreCopy', taskToken: 'secret', error: new Error('boom') });
    expect(lines[0]).toMatchObject({
      level: 30,
      workflowId: 'volume-recovery-vol-1-e2',
      sdkComponent: 'workflow',
      msg: 'volume recovery: configuration',
    });
    expect(lines[1]).toMatchObject({ level: 50, activityType: 'restoreCopy', msg: 'Activity failed' });
    expect((lines[1]!.error as { message: string }).message).toBe('boom');
    expect(lines[1]).not.toHaveProperty('taskToken');
  });

  it('when LOG_LEVEL is set, then it is the level; a cluster child under the test runner keeps info', () => {
    expect(logLevel({ LOG_LEVEL: 'DEBUG' })).toBe('debug');
    expect(logLevel({ LOG_LEVEL: 'loud' })).toBe('info');
    expect(logLevel({ VITEST: 'true' })).toBe('warn');
    expect(logLevel({ VITEST: 'true', BLACKSTART_PARENT_PID: '1' })).toBe('info');
  });

  it("when a request is answered, then its line has the caller's request id, the status and the path without the query", async () => {
    const { log, lines } = capture('api');
    const app = express();
    app.use(requestLog(() => log));
    app.get('/v1/x', (_req, res) => void res.status(404).json({}));
    const server = await listen(app, 0, '127.0.0.1');
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/x?grant=secret`, {
        headers: { 'x-request-id': 'req-42' },
      });
      expect(res.headers.get('x-request-id')).toBe('req-42');
      await expect.poll(() => lines.length).toBe(1);
      expect(lines[0]).toMatchObject({ level: 30, reqId: 'req-42', method: 'GET', path: '/v1/x', status: 404, msg: 'request' });
    } finally {
      await closeServer(server);
    }
  });

  it('when a child appends lines to its file, then npm start shows its pino lines pretty, from where the file ended', () => {
    const dir = mkdtempSync(join(tmpdir(), 'log-follow-'));
    writeFileSync(join(dir, 'worker.log'), '{"level":30,"time":0,"name":"worker","msg":"old"}\n');
    const out: string[] = [];
    const following = followLogs(dir, (text) => out.push(text), { minLevel: 30, colorize: false, intervalMs: 60_000 });
    appendFileSync(join(dir, 'worker.log'), '{"level":30,"time":0,"name":"worker","nodeId":"n1","msg":"worker polling"}\nnot json\n');
    appendFileSync(join(dir, 'worker.log'), '{"level":20,"time":0,"name":"worker","msg":"debug"}\n{"level":40,"time":0,"name":"w');
    following.flush();
    following.stop();
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(/INFO \(worker\): worker polling .*"nodeId":"n1"/);
    expect(pinoLine('time=1 level=INFO msg=temporal', 0)).toBeNull();
  });
});
