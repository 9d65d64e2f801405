import { randomFillSync } from 'node:crypto';

/** UUIDs made from one draw of random bytes (node:crypto's randomUUID draws for 128 at a time, too). */
const BATCH = 128;
const HEX = Buffer.from('0123456789abcdef', 'latin1');
/** Where each of a UUID's 16 bytes goes in its 36 characters: 8-4-4-4-12 hex digits. */
const BYTE_AT = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];

const random = Buffer.alloc(16 * BATCH);
const text = Buffer.alloc(36 * BATCH, '-', 'latin1');
let next = BATCH;

/**
 * A random (version 4) UUID, as node:crypto's randomUUID makes it, in one flat string. randomUUID joins its 36
 * characters from two-digit pieces and dashes, which V8 keeps as a tree until something reads them as one: a header's
 * validation and a log line's quoting each copy them first. A request's ids are read that way on every request, so
 * they are written here as text once and read back as one string.
 */
export function flatUuid(): string {
  if (next === BATCH) refill();
  const at = 36 * next++;
  return text.toString('latin1', at, at + 36);
}

function refill(): void {
  randomFillSync(random);
  for (let uuid = 0; uuid < BATCH; uuid++) {
    const from = 16 * uuid;
    // RFC 9562: version 4 in byte 6's high half, variant 10 in byte 8's two high bits.
    random[from + 6] = (random[from + 6] & 0x0f) | 0x40;
    random[from + 8] = (random[from + 8] & 0x3f) | 0x80;
    writeDigits(random, from, text, 36 * uuid);
  }
  next = 0;
}

const one = Buffer.alloc(36, '-', 'latin1');

/** 16 bytes (from `from`) as a UUID's text, in one flat string: one string, where slices joined by dashes make nine. */
export function uuidText(bytes: Uint8Array, from = 0): string {
  writeDigits(bytes, from, one, 0);
  return one.toString('latin1');
}

/** 16 bytes as 32 lower-case hex digits at their places among the dashes already written at `at`. */
function writeDigits(bytes: Uint8Array, from: number, into: Buffer, at: number): void {
  for (let byte = 0; byte < 16; byte++) {
    const value = bytes[from + byte];
    into[at + BYTE_AT[byte]] = HEX[value >> 4];
    into[at + BYTE_AT[byte] + 1] = HEX[value & 0x0f];
  }
}
