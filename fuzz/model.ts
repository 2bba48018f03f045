// The byte model: what each of the owner's fixture volumes holds, from the writes the fuzzer saw
// acknowledged. A write whose outcome is unknown (no answer) makes its volume uncertain: reads
// of it are no longer compared.
export interface Mismatch {
  volumeId: string;
  offset: number;
  length: number;
  /** The first differing byte, relative to offset. */
  at: number;
}

export class ByteModel {
  private readonly volumes = new Map<string, Buffer>();
  private readonly uncertain = new Set<string>();

  create(volumeId: string, sizeBytes: number): void {
    this.volumes.set(volumeId, Buffer.alloc(sizeBytes));
  }

  has(volumeId: string): boolean {
    return this.volumes.has(volumeId) && !this.uncertain.has(volumeId);
  }

  write(volumeId: string, offset: number, data: Buffer): void {
    this.volumes.get(volumeId)?.set(data, offset);
  }

  /** A write that may or may not have been applied. */
  forget(volumeId: string): void {
    if (this.volumes.has(volumeId)) this.uncertain.add(volumeId);
  }

  /** Null when `data` is what the model holds at offset (or the volume is not modelled). */
  check(volumeId: string, offset: number, data: Buffer): Mismatch | null {
    const bytes = this.volumes.get(volumeId);
    if (!bytes || this.uncertain.has(volumeId)) return null;
    const expected = bytes.subarray(offset, offset + data.length);
    if (expected.length === data.length && expected.equals(data)) return null;
    let at = 0;
    while (at < data.length && data[at] === expected[at]) at++;
    return { volumeId, offset, length: data.length, at };
  }
}
