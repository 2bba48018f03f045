// The property-based fuzz (fuzz/) on one cluster: a fixed seed, a few hundred requests over the
// customer, operator and node APIs, the storage nodes' HTTP endpoints and their NBD port, every
// oracle at zero; plus the regressions the fuzz found, as plain requests.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCase } from '../../fuzz/generator.js';
import { failedCount, summaryLine } from '../../fuzz/report.js';
import { runFuzz } from '../../fuzz/runner.js';
import { startWorld, stopWorld, type World } from '../../fuzz/world.js';
import { adminDatabaseUrl } from '../support/test-cluster.js';

const SEED = 7;
const REQUESTS = 400;

describe('the fuzz', () => {
  let w: World;

  beforeAll(async () => {
    w = await startWorld({ adminDatabaseUrl: adminDatabaseUrl(), keepDir: !!process.env.KEEP_TEST_DIRS, progress: () => undefined });
  });
  afterAll(() => w && stopWorld(w));

  it('generates each case from (seed, index) alone', () => {
    for (const index of [0, 7, 123]) expect(JSON.stringify(generateCase(SEED, index))).toBe(JSON.stringify(generateCase(SEED, index)));
    expect(JSON.stringify(generateCase(SEED, 1))).not.toBe(JSON.stringify(generateCase(SEED + 1, 1)));
  });

  it(`finds no 5xx, hang, change on reject, cross-tenant leak or byte mismatch in ${REQUESTS} requests (seed ${SEED})`, async () => {
    const lines: string[] = [];
    const report = await runFuzz(w, {
      seed: SEED,
      indices: Array.from({ length: REQUESTS }, (_, i) => i),
      timeoutMs: 10_000,
      verbose: false,
      progress: (l) => lines.push(l),
    });
    console.log(summaryLine(report));
    expect(report.requests).toBe(REQUESTS);
    expect(report.accepted).toBeGreaterThan(REQUESTS / 10);
    expect(report.nbdCases).toBeGreaterThan(0);
    expect(failedCount(report), lines.join('\n')).toBe(0);
  });

  it('answers an id holding a NUL byte with 404, not 500 (volumes, snapshots, customers)', async () => {
    const customer = { authorization: `Bearer ${w.owner.apiKey}` };
    const operator = { authorization: `Bearer ${w.operatorToken}` };
    const cases: [string, string, Record<string, string>][] = [
      ['POST', '/v1/volumes/%00/review-grants', customer],
      ['GET', '/v1/volumes/vol-%00', customer],
      ['GET', '/v1/volumes/%00/snapshots', customer],
      ['PUT', '/v1/volumes/%00/snapshot-policy', customer],
      ['GET', '/v1/volumes/%00/data?offset=0&length=1', customer],
      ['GET', '/v1/snapshots/snap-%00', customer],
      ['DELETE', '/v1/snapshots/%00', customer],
      ['GET', '/v1/operator/customers/%00/quota', operator],
      ['PUT', '/v1/operator/customers/%00/quota', operator],
    ];
    for (const [method, path, headers] of cases) {
      const body =
        method === 'PUT'
          ? JSON.stringify(path.includes('quota') ? { maxVolumes: 5 } : { intervalSeconds: 86400, retention: 1 })
          : undefined;
      const res = await fetch(`${w.apiUrl}${path}`, { method, headers: { ...headers, 'content-type': 'application/json' }, body });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code, `${method} ${path}`).toBe('not-found');
    }
  });
});
