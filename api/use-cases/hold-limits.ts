// What one customer may hold on the API's data path at once. A request is counted from its
// arrival (before its body is read) until its answer, against its volume and its customer;
// past a bound it is refused at once with 429 and Retry-After. Nothing already admitted is
// ever dropped to make room.
import { AppError } from '../errors.js';

export interface HoldCaps {
  perVolumeRequests: number;
  perVolumeBytes: number;
  perCustomerRequests: number;
  perCustomerBytes: number;
}

interface Usage {
  requests: number;
  bytes: number;
}

export class HoldLimits {
  private readonly volumes = new Map<string, Usage>();
  private readonly customers = new Map<string, Usage>();

  constructor(
    private readonly caps: HoldCaps,
    private readonly retryAfterSeconds: number,
  ) {}

  /** Admits one request of `bytes`; the returned function releases it (once). */
  acquire(customerId: string, volumeId: string, bytes: number): () => void {
    // Keyed by customer too: requests naming another tenant's volume count against the caller only.
    const volumeKey = `${customerId}/${volumeId}`;
    const volume = this.volumes.get(volumeKey) ?? { requests: 0, bytes: 0 };
    const customer = this.customers.get(customerId) ?? { requests: 0, bytes: 0 };
    this.check(volume, bytes, this.caps.perVolumeRequests, this.caps.perVolumeBytes, `volume ${volumeId}`);
    this.check(customer, bytes, this.caps.perCustomerRequests, this.caps.perCustomerBytes, 'this customer');
    this.add(this.volumes, volumeKey, volume, 1, bytes);
    this.add(this.customers, customerId, customer, 1, bytes);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.add(this.volumes, volumeKey, volume, -1, -bytes);
      this.add(this.customers, customerId, customer, -1, -bytes);
    };
  }

  usage(customerId: string): Usage {
    return { ...(this.customers.get(customerId) ?? { requests: 0, bytes: 0 }) };
  }

  private check(u: Usage, bytes: number, maxRequests: number, maxBytes: number, what: string): void {
    const headers = { 'retry-after': String(this.retryAfterSeconds) };
    if (u.requests >= maxRequests) {
      throw new AppError(
        429,
        'too-many-requests',
        `${what} has ${u.requests} I/O requests in flight, the most allowed; retry later`,
        headers,
      );
    }
    if (u.bytes + bytes > maxBytes) {
      throw new AppError(
        429,
        'too-many-bytes',
        `${what} has ${u.bytes} bytes of I/O in flight; at most ${maxBytes} may be; retry later`,
        headers,
      );
    }
  }

  private add(map: Map<string, Usage>, key: string, u: Usage, requests: number, bytes: number): void {
    u.requests += requests;
    u.bytes += bytes;
    if (u.requests === 0) map.delete(key);
    else map.set(key, u);
  }
}

/** Concurrent requests of any kind per customer: a bound on the sockets one customer keeps open. */
export class RequestLimits {
  private readonly inFlight = new Map<string, number>();

  constructor(
    private readonly maxPerCustomer: number,
    private readonly retryAfterSeconds: number,
  ) {}

  acquire(customerId: string): () => void {
    const n = this.inFlight.get(customerId) ?? 0;
    if (n >= this.maxPerCustomer) {
      throw new AppError(429, 'too-many-requests', `this customer has ${n} requests in flight, the most allowed; retry later`, {
        'retry-after': String(this.retryAfterSeconds),
      });
    }
    this.inFlight.set(customerId, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.inFlight.get(customerId) ?? 1) - 1;
      if (left === 0) this.inFlight.delete(customerId);
      else this.inFlight.set(customerId, left);
    };
  }
}
