/**
 * A tiny seedable PRNG (mulberry32-style: 32-bit state, multiply/xor-shift mixing). Fault decisions
 * draw from it instead of `Math.random` so a flaky-looking run can be replayed exactly from the seed
 * the sandbox logs at start. Statistical quality only needs to be "good enough for coin flips".
 */
import { randomInt } from 'node:crypto';

export class SeededRandom {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let x = this.state;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 0x1_0000_0000;
  }

  /** Back to the first draw: a reset sandbox must behave like a freshly started one. */
  restart(): void {
    this.state = this.seed >>> 0;
  }
}

/** A fresh seed for runs that did not ask for one; it is logged so the run can still be reproduced. */
export const randomSeed = (): number => randomInt(0, 0x7fff_ffff);
