// NBD wire values, from the NetworkBlockDevice project's doc/proto.md ("the spec" below; section
// names in the comments). Every integer on the wire is big-endian ("network byte order").

/** Magic numbers (spec: "Newstyle negotiation", "Fixed newstyle negotiation", "Transmission"). */
export const NbdMagic = {
  /** 'NBDMAGIC', first 8 bytes of the server greeting. */
  INIT: 0x4e42444d41474943n,
  /** 'IHAVEOPT', second 8 bytes of the greeting and the start of every client option. */
  IHAVEOPT: 0x49484156454f5054n,
  /** Starts every fixed-newstyle option reply. */
  OPTION_REPLY: 0x3e889045565a9n,
  /** NBD_REQUEST_MAGIC: starts every transmission request. */
  REQUEST: 0x25609513,
  /** NBD_SIMPLE_REPLY_MAGIC. */
  SIMPLE_REPLY: 0x67446698,
  /** NBD_STRUCTURED_REPLY_MAGIC (not negotiated by this codec; recognised to reject it clearly). */
  STRUCTURED_REPLY: 0x668e33ef,
} as const;

/** Handshake flags, 16 bits, sent by the server (spec: "Handshake flags"). */
export const HandshakeFlag = {
  FIXED_NEWSTYLE: 1 << 0,
  NO_ZEROES: 1 << 1,
} as const;

/** Client flags, 32 bits (spec: "Client flags"); any other bit set: the server closes. */
export const ClientFlag = {
  FIXED_NEWSTYLE: 1 << 0,
  NO_ZEROES: 1 << 1,
} as const;

/** Transmission flags, 16 bits (spec: "Transmission flags"). */
export const TransmissionFlag = {
  HAS_FLAGS: 1 << 0,
  READ_ONLY: 1 << 1,
  SEND_FLUSH: 1 << 2,
  SEND_FUA: 1 << 3,
  ROTATIONAL: 1 << 4,
  SEND_TRIM: 1 << 5,
  SEND_WRITE_ZEROES: 1 << 6,
  SEND_DF: 1 << 7,
  CAN_MULTI_CONN: 1 << 8,
  SEND_RESIZE: 1 << 9,
  SEND_CACHE: 1 << 10,
  SEND_FAST_ZERO: 1 << 11,
} as const;

/** Option types sent by the client (spec: "Option types"). */
export const NbdOpt = {
  EXPORT_NAME: 1,
  ABORT: 2,
  LIST: 3,
  /** Withdrawn PEEK_EXPORT (4) is not listed: it decodes as an unknown option. */
  STARTTLS: 5,
  INFO: 6,
  GO: 7,
  STRUCTURED_REPLY: 8,
  LIST_META_CONTEXT: 9,
  SET_META_CONTEXT: 10,
  EXTENDED_HEADERS: 11,
} as const;

/** Error replies have bit 31 set (spec: "Option reply types"). */
export const REP_ERROR_BIT = 0x80000000;

/** Option reply types (spec: "Option reply types"). */
export const NbdRep = {
  ACK: 1,
  SERVER: 2,
  INFO: 3,
  META_CONTEXT: 4,
  ERR_UNSUP: REP_ERROR_BIT + 1,
  ERR_POLICY: REP_ERROR_BIT + 2,
  ERR_INVALID: REP_ERROR_BIT + 3,
  ERR_PLATFORM: REP_ERROR_BIT + 4,
  ERR_TLS_REQD: REP_ERROR_BIT + 5,
  ERR_UNKNOWN: REP_ERROR_BIT + 6,
  ERR_SHUTDOWN: REP_ERROR_BIT + 7,
  ERR_BLOCK_SIZE_REQD: REP_ERROR_BIT + 8,
  ERR_TOO_BIG: REP_ERROR_BIT + 9,
} as const;

/** Information types inside NBD_REP_INFO and in NBD_OPT_INFO/GO requests (spec: "NBD_REP_INFO"). */
export const NbdInfo = {
  EXPORT: 0,
  NAME: 1,
  DESCRIPTION: 2,
  BLOCK_SIZE: 3,
} as const;

/** Request types (spec: "Request types"). */
export const NbdCmd = {
  READ: 0,
  WRITE: 1,
  DISC: 2,
  FLUSH: 3,
  TRIM: 4,
  CACHE: 5,
  WRITE_ZEROES: 6,
  BLOCK_STATUS: 7,
} as const;

/** Command flags, 16 bits (spec: "Command flags"). */
export const CmdFlag = {
  FUA: 1 << 0,
  NO_HOLE: 1 << 1,
  DF: 1 << 2,
  REQ_ONE: 1 << 3,
  FAST_ZERO: 1 << 4,
} as const;

/** Error values of a reply (spec: "Error values"). */
export const NbdErrno = {
  OK: 0,
  EPERM: 1,
  EIO: 5,
  ENOMEM: 12,
  EINVAL: 22,
  ENOSPC: 28,
  EOVERFLOW: 75,
  ENOTSUP: 95,
  ESHUTDOWN: 108,
} as const;

/** Header sizes in bytes. */
export const GREETING_BYTES = 18; // NBDMAGIC + IHAVEOPT + 16-bit handshake flags
export const OPTION_HEADER_BYTES = 16; // IHAVEOPT + option + length
export const OPTION_REPLY_HEADER_BYTES = 20; // magic + option + type + length
export const EXPORT_NAME_REPLY_BYTES = 10; // size + transmission flags
export const EXPORT_NAME_ZEROES = 124; // reserved zeroes after it, unless NO_ZEROES
export const REQUEST_BYTES = 28; // magic, flags, type, handle, offset, length
export const SIMPLE_REPLY_BYTES = 16; // magic, error, handle
/** The spec's longest string (export names, messages). */
export const MAX_STRING_BYTES = 4096;

const known = (table: Record<string, number>) => new Set(Object.values(table));
export const KNOWN_OPTIONS = known(NbdOpt);
export const KNOWN_COMMANDS = known(NbdCmd);
