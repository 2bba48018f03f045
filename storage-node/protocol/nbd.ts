// The NBD codec (NetworkBlockDevice doc/proto.md), pure: bytes in, typed messages out.
// nbd-constants.ts: wire values · nbd-handshake.ts: fixed-newstyle negotiation, both sides ·
// nbd-transmission.ts: requests and simple replies, both sides · nbd-bytes.ts: the error values
// (OptionError / RequestError: answer them; NbdFatal: close) and the receive queue.
// Each module's header says how to use it; import from here.
export * from './nbd-bytes.js';
export * from './nbd-constants.js';
export * from './nbd-handshake.js';
export * from './nbd-transmission.js';
