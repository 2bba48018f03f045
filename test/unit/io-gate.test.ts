// Paused I/O is held, not failed: it waits until the gate opens (then runs in arrival order)
// or the volume is deleted (then fails).
import { describe, expect, it } from 'vitest';
import { IoGate, VolumeDeletedError } from '../../storage-node/store/io-gate.js';

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
});
