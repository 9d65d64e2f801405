import { availableParallelism } from 'node:os';
import { HashQueue, MAX_CONCURRENT_HASHES, MAX_WAITING_HASHES } from './hash-queue';
import { ServiceUnavailableProblem } from '../errors/api-errors';

describe('HashQueue', () => {
  it('runs one per two cores (1 to 4) at once, queues 64 in order, refuses the next with 503 and Retry-After 1', async () => {
    const queue = new HashQueue();
    const releases: Array<() => void> = [];
    const started: number[] = [];
    const work = (index: number) => () =>
      new Promise<number>((resolve) => {
        started.push(index);
        releases.push(() => resolve(index));
      });
    const results = Array.from({ length: MAX_CONCURRENT_HASHES + MAX_WAITING_HASHES }, (_, index) => queue.run(work(index)));
    await Promise.resolve();
    expect(MAX_CONCURRENT_HASHES).toBe(Math.min(4, Math.max(1, Math.floor(availableParallelism() / 2))));
    expect([queue.active, queue.queued, started]).toEqual([MAX_CONCURRENT_HASHES, 64, Array.from({ length: MAX_CONCURRENT_HASHES }, (_, index) => index)]);

    const refused = await queue.run(work(999)).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ServiceUnavailableProblem);
    expect((refused as ServiceUnavailableProblem).retryAfterSeconds).toBe(1);
    expect((refused as ServiceUnavailableProblem).getStatus()).toBe(503);

    // Releasing one admits exactly the oldest waiter.
    releases[0]();
    await expect(results[0]).resolves.toBe(0);
    expect([queue.active, queue.queued, started]).toEqual([MAX_CONCURRENT_HASHES, 63, Array.from({ length: MAX_CONCURRENT_HASHES + 1 }, (_, index) => index)]);
    for (let done = 1; done < MAX_CONCURRENT_HASHES + 64; done++) {
      while (releases.length <= done) await new Promise((resolve) => setImmediate(resolve));
      releases[done]();
    }
    await expect(Promise.all(results)).resolves.toEqual(Array.from({ length: MAX_CONCURRENT_HASHES + 64 }, (_, index) => index));
    expect([queue.active, queue.queued]).toEqual([0, 0]);
    expect(started).toEqual(Array.from({ length: MAX_CONCURRENT_HASHES + 64 }, (_, index) => index));
  });

  it('frees the slot when the work fails', async () => {
    const queue = new HashQueue();
    await expect(queue.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(queue.active).toBe(0);
  });
});
