// The bound on NBD connections that have not yet presented a grant: in total and per source
// address. A connection past either cap is closed at once; one that enters transmission (its
// grant opened an export) leaves the count, so connections holding a valid grant are never
// crowded out by idle ones.

export interface PreAuthCaps {
  /** Connections in handshake at once, from anyone. */
  total: number;
  /** Connections in handshake at once from one source address. */
  perSource: number;
}

export type PreAuthRefusal = 'total' | 'per-source';

export class PreAuthLimit {
  private pendingTotal = 0;
  private readonly bySource = new Map<string, number>();

  constructor(
    readonly caps: PreAuthCaps,
    private readonly onRefused: (reason: PreAuthRefusal) => void = () => undefined,
  ) {
    if (!(caps.total >= 1 && caps.perSource >= 1))
      throw new Error(`pre-authentication caps must be at least 1 (got ${JSON.stringify(caps)})`);
  }

  get pending(): number {
    return this.pendingTotal;
  }

  pendingFrom(source: string): number {
    return this.bySource.get(source) ?? 0;
  }

  /**
   * Counts a new connection from `source`, or refuses it. Admitted: the returned release, called
   * once when it authenticates or closes (later calls do nothing).
   */
  admit(source: string): { release: () => void } | { refused: PreAuthRefusal } {
    const fromSource = this.pendingFrom(source);
    const refused: PreAuthRefusal | null =
      this.pendingTotal >= this.caps.total ? 'total' : fromSource >= this.caps.perSource ? 'per-source' : null;
    if (refused) {
      this.onRefused(refused);
      return { refused };
    }
    this.pendingTotal += 1;
    this.bySource.set(source, fromSource + 1);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.pendingTotal -= 1;
        const left = this.pendingFrom(source) - 1;
        if (left > 0) this.bySource.set(source, left);
        else this.bySource.delete(source);
      },
    };
  }
}
