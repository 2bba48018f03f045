// Paused I/O is held, not failed: it waits until the gate opens (then runs in arrival order)
// or the volume is deleted (then fails).
import { describe, expect, it } from 'vitest';
import { IoGate, TooManyHeldError, VolumeDeletedError } from '../../storage-node/store/io-gate.js';

const tick = () => new Promise((r) => setTimeout(r, 10));

describe('the I/O gate', () => {
  it('holds requests while paused and serves them in arrival order when opened', async () => {
    const gate = new IoGate(true);
    const order: number[] = [];
    const settled: number[] = [];
    const requests = [1, 2, 3].map((n) => gate.admit(async () => order.push(n)).then(() => settled.push(n)));
    await tick();
    expect(settled).toEqual([]);
    expect(gate.heldCount).toBe(3);
    gate.open();
    await Promise.all(requests);
    expect(order).toEqual([1, 2, 3]);
  });

  it('fails held requests when the volume is deleted, and every later one too', async () => {
    const gate = new IoGate(true);
    const held = gate.admit(async () => 'data');
    gate.close(new VolumeDeletedError('v'));
    await expect(held).rejects.toBeInstanceOf(VolumeDeletedError);
    await expect(gate.admit(async () => 'late')).rejects.toBeInstanceOf(VolumeDeletedError);
  });

  it('runs control work in order with I/O but never holds it', async () => {
    const gate = new IoGate(true);
    expect(await gate.serial(async () => 'scan')).toBe('scan');
  });

  it('refuses a request past the bound of held requests with 503 too-many-held, and keeps every held one', async () => {
    const gate = new IoGate(true, { maxHeldRequests: 2, maxHeldBytes: 1 << 20 });
    const held = [1, 2].map((n) => gate.admit(async () => n));
    const refused = gate.admit(async () => 3);
    await expect(refused).rejects.toBeInstanceOf(TooManyHeldError);
    await expect(refused).rejects.toMatchObject({ status: 503, code: 'too-many-held', retryAfterSeconds: 2 });
    expect(gate.heldCount).toBe(2);
    gate.open();
    expect(await Promise.all(held)).toEqual([1, 2]);
  });

  it('refuses a request past the bound of held bytes, and has room again once the gate opens', async () => {
    const gate = new IoGate(true, { maxHeldRequests: 100, maxHeldBytes: 8192 });
    const first = gate.admit(async () => 'a', 4096);
    const second = gate.admit(async () => 'b', 4096);
    await expect(gate.admit(async () => 'c', 1)).rejects.toMatchObject({ code: 'too-many-held' });
    gate.open();
    expect(await Promise.all([first, second])).toEqual(['a', 'b']);
    gate.pause();
    const again = gate.admit(async () => 'd', 8192);
    gate.open();
    expect(await again).toBe('d');
  });

  it('never bounds requests while the gate is open', async () => {
    const gate = new IoGate(false, { maxHeldRequests: 1, maxHeldBytes: 1 });
    expect(await Promise.all([1, 2, 3].map((n) => gate.admit(async () => n, 4096)))).toEqual([1, 2, 3]);
  });

  it('runs reads side by side, but never beside a write: a read waits for the writes before it, a write for everything before it', async () => {
    const gate = new IoGate(false);
    const log: string[] = [];
    const step = (name: string, ms: number) => async () => {
      log.push(`${name}+`);
      await new Promise((r) => setTimeout(r, ms));
      log.push(`${name}-`);
    };
    await Promise.all([
      gate.admit(step('w1', 20)),
      gate.admit(step('r1', 30), 0, 'shared'),
      gate.admit(step('r2', 10), 0, 'shared'),
      gate.admit(step('w2', 10)),
      gate.admit(step('r3', 5), 0, 'shared'),
    ]);
    expect(log).toEqual(['w1+', 'w1-', 'r1+', 'r2+', 'r2-', 'r1-', 'w2+', 'w2-', 'r3+', 'r3-']);
  });

  it('holds reads too while paused, and releases them after the writes held before them', async () => {
    const gate = new IoGate(true);
    const log: string[] = [];
    const held = [gate.admit(async () => void log.push('w1')), gate.admit(async () => void log.push('r1'), 0, 'shared')];
    await tick();
    expect(log).toEqual([]);
    gate.open();
    await Promise.all(held);
    expect(log).toEqual(['w1', 'r1']);
  });

  it('lets the next write apply while an earlier one waits to be durable, but runs control work only once every write has settled', async () => {
    const gate = new IoGate(false);
    const log: string[] = [];
    let durable: () => void = () => undefined;
    const firstDurable = new Promise<void>((r) => (durable = r));
    const w1 = gate.admitWrite(
      async () => void log.push('w1 applied'),
      () => firstDurable.then(() => void log.push('w1 durable')),
      0,
    );
    const w2 = gate.admitWrite(
      async () => void log.push('w2 applied'),
      async () => void log.push('w2 durable'),
      0,
    );
    const read = gate.admit(async () => void log.push('read'), 0, 'shared');
    const control = gate.serial(async () => void log.push('control'));
    await tick();
    expect(log).toEqual(['w1 applied', 'w2 applied', 'w2 durable', 'read']);
    durable();
    await Promise.all([w1, w2, read, control]);
    expect(log.slice(4)).toEqual(['w1 durable', 'control']);
  });
});
