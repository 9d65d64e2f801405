import { Injectable } from '@nestjs/common';
import { availableParallelism } from 'node:os';
import { ServiceUnavailableProblem } from '../errors/api-errors.js';

/**
 * Password hashes running at once in this process: one per two cores, at least 1 and at most 4. Each holds ~19 MiB
 * and one core for tens of ms: a flood of wrong passwords keeps at most half the cores busy, the rest serve every
 * other request, and on two cores one hash at a time keeps the flood's peak within the 200 MB memory budget.
 */
export const MAX_CONCURRENT_HASHES = Math.min(4, Math.max(1, Math.floor(availableParallelism() / 2)));
/** Hashes waiting for a slot; past this a request is refused with 503 and Retry-After: 1. */
export const MAX_WAITING_HASHES = 64;

/**
 * Every password hash and verification of the service goes through here, so a login flood cannot hold more than
 * 4 × 19 MiB of hash memory (1 × on two cores) or starve other requests of CPU: those run, 64 wait in order, the
 * rest get 503 at once.
 */
@Injectable()
export class HashQueue {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  get active(): number {
    return this.running;
  }

  get queued(): number {
    return this.waiting.length;
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= MAX_CONCURRENT_HASHES) {
      if (this.waiting.length >= MAX_WAITING_HASHES) {
        throw new ServiceUnavailableProblem('Too many password checks are in progress; try again in a second', 1);
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running += 1;
    }
    try {
      return await work();
    } finally {
      // The slot passes straight to the next waiter, so a newcomer never overtakes the queue.
      const next = this.waiting.shift();
      if (next) next();
      else this.running -= 1;
    }
  }
}
