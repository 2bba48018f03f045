// The lookahead of hydration and the bounded uploads of a snapshot: order, bounds, one job per
// address, and failures that surface only once nothing is left running.
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { BoundedJobs, fetchAhead } from '../../storage-node/store/pipeline.js';

describe('fetchAhead', () => {
  it('yields every result in order with at most `depth` fetches ahead of the consumer', async () => {
    let started = 0;
    const got: number[] = [];
    const fetch = async (i: number) => {
      started += 1;
      await sleep((7 - i) % 3); // later ones may finish first
      return i * 10;
    };
    for await (const v of fetchAhead(7, 3, fetch)) {
      expect(started - got.length).toBeLessThanOrEqual(4); // this one and 3 ahead
      got.push(v);
    }
    expect(got).toEqual([0, 10, 20, 30, 40, 50, 60]);
  });

  it('throws the failed fetch at its turn, and one started ahead of a stop leaves nothing unhandled', async () => {
    const fetch = (i: number) => (i === 2 ? Promise.reject(new Error('chunk 2 unreadable')) : Promise.resolve(i));
    const got: number[] = [];
    await expect(
      (async () => {
        for await (const v of fetchAhead(5, 4, fetch)) got.push(v);
      })(),
    ).rejects.toThrow('chunk 2 unreadable');
    expect(got).toEqual([0, 1]);
    for await (const v of fetchAhead(5, 4, fetch)) if (v === 0) break; // fetch 2 rejected ahead: not awaited by anyone
    await sleep(5);
  });
});

describe('BoundedJobs', () => {
  it('runs at most `limit` at once and each key once', async () => {
    const jobs = new BoundedJobs(3);
    let running = 0;
    let most = 0;
    const ran: string[] = [];
    for (const key of ['a', 'b', 'a', 'c', 'd', 'b', 'e', 'f', 'g']) {
      await jobs.add(key, async () => {
        running += 1;
        most = Math.max(most, running);
        await sleep(2);
        ran.push(key);
        running -= 1;
      });
    }
    await jobs.drain();
    expect(most).toBe(3);
    expect(ran.sort()).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g']);
  });

  it('throws the first failure only once every job in flight has settled', async () => {
    const jobs = new BoundedJobs(4);
    let slowDone = false;
    await jobs.add('slow', async () => {
      await sleep(20);
      slowDone = true;
    });
    const failing = jobs.add('bad', () => Promise.reject(new Error('put failed')));
    await expect(failing.then(() => jobs.drain())).rejects.toThrow('put failed');
    expect(slowDone).toBe(true);
  });
});
