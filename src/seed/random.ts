const HEX = '0123456789abcdef';

/** mulberry32: a small seeded PRNG, so the same seed always builds the same dataset. */
export class Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  /**
   * A version-4-shaped UUID from the stream, so ids are reproducible too: 32 hex digits drawn in order (the 13th
   * then set to 4), then one draw for the variant digit, which replaces the 17th. Built by concatenation, not arrays:
   * the xl seed draws 20 million of them.
   */
  uuid(): string {
    let head = '';
    for (let i = 0; i < 16; i++) {
      const digit = HEX[Math.floor(this.next() * 16)];
      head += i === 12 ? '4' : digit;
      if (i === 7 || i === 11) head += '-';
    }
    this.next();
    let tail = '';
    for (let i = 17; i < 32; i++) {
      tail += HEX[Math.floor(this.next() * 16)];
      if (i === 19) tail += '-';
    }
    return `${head}-${HEX[Math.floor(this.next() * 4) + 8]}${tail}`;
  }
}
