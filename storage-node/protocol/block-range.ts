import { BLOCK_SIZE } from '../../common/types.js';

/** Largest payload of one read or write request. */
export const MAX_IO_BYTES = 4 * 1024 * 1024;

/**
 * The I/O rule: any byte offset and length is accepted (partial blocks are read-modify-written
 * under the volume's lock), as long as 0 < length <= MAX_IO_BYTES and the range lies inside
 * the volume. Returns the blocks touched, or an error message.
 */
export interface BlockSpan {
  offset: number;
  length: number;
  firstBlock: number;
  lastBlock: number;
}

export function checkRange(offset: number, length: number, sizeBytes: number): BlockSpan | string {
  if (!Number.isSafeInteger(offset) || offset < 0) return 'offset must be a non-negative integer';
  if (!Number.isSafeInteger(length) || length <= 0) return 'length must be a positive integer';
  if (length > MAX_IO_BYTES) return `length must be at most ${MAX_IO_BYTES} bytes`;
  if (offset + length > sizeBytes) return `range ${offset}+${length} ends past the volume size ${sizeBytes}`;
  return { offset, length, firstBlock: Math.floor(offset / BLOCK_SIZE), lastBlock: Math.floor((offset + length - 1) / BLOCK_SIZE) };
}
