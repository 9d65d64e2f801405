import { Logger } from '@nestjs/common';
import type { AppConfig } from '../config/app-config';
import type { ReadReplicas } from '../database/read-replicas';
import type { RedisConnection } from '../redis/redis-connection';
import type { ChangeNotifier } from '../tenancy/change-notifier';
import { CacheGenerations } from './cache-generations';
import type { GenerationChannel } from './generation-channel';
import type { RedisCircuit } from './redis-circuit';

/** One move sent to Redis, settled by the test: taken (the new generation) or refused. */
interface SentMove {
  organizationId: string;
  settle(taken: boolean): void;
}

/** Lets a move reach Redis: it asks the primary its position first (a promise), then sends. */
const flush = () => jest.advanceTimersByTimeAsync(0);

/** CacheGenerations over a Redis whose every move the test answers, and no replica. */
function generationsWithHeldMoves() {
  const sent: SentMove[] = [];
  const readyListeners: (() => void)[] = [];
  const channel = {
    live: false,
    epoch: 0,
    listen: () => undefined,
    move: (organizationId: string) =>
      new Promise<number>((resolve, reject) =>
        sent.push({ organizationId, settle: (taken) => (taken ? resolve(2) : reject(new Error('NOREPLICAS Not enough good replicas to write.'))) }),
      ),
  };
  const generations = new CacheGenerations(
    { enabled: true, run: <T>(call: () => Promise<T>) => call() } as unknown as RedisCircuit,
    { onReady: (listener: () => void) => readyListeners.push(listener) } as unknown as RedisConnection,
    { REDIS_KEY_PREFIX: 'spec' } as AppConfig,
    { subscribe: () => undefined } as unknown as ChangeNotifier,
    channel as unknown as GenerationChannel,
    { primaryPosition: async () => null } as unknown as ReadReplicas,
  );
  generations.onModuleInit();
  /** A write's move, refused by Redis: what move() answers (false, the organization left pending). */
  const refusedMove = async (organizationId: string) => {
    const moved = generations.move(organizationId);
    await flush();
    (sent.at(-1) as SentMove).settle(false);
    return moved;
  };
  /** The organizations of the moves sent so far, `ms` later. */
  const sentAfter = async (ms: number) => {
    await jest.advanceTimersByTimeAsync(ms);
    return sent.map((move) => move.organizationId);
  };
  /** Redis (re)connected: what the connection tells its listeners. */
  const redisReady = () => readyListeners.forEach((listener) => listener());
  return { generations, sent, refusedMove, sentAfter, redisReady };
}

describe('CacheGenerations: pending moves', () => {
  beforeEach(() => {
    jest.useFakeTimers();
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => {
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  it('retries a refused move a second later, and stops once Redis takes it', async () => {
    const { generations, sent, refusedMove, sentAfter } = generationsWithHeldMoves();
    expect(await refusedMove('org-a')).toBe(false);

    expect(await sentAfter(999)).toEqual(['org-a']);
    expect(await sentAfter(1)).toEqual(['org-a', 'org-a']);
    sent[1].settle(true);
    expect(await sentAfter(5_000)).toEqual(['org-a', 'org-a']);
    generations.onModuleDestroy();
  });

  it('retries a move refused while a retry pass was under way, once that pass ends', async () => {
    const { generations, sent, refusedMove, sentAfter } = generationsWithHeldMoves();
    expect(await refusedMove('org-a')).toBe(false);
    // The timer's pass takes org-a's move to Redis, which is slow to answer it.
    expect(await sentAfter(1_000)).toEqual(['org-a', 'org-a']);

    // Meanwhile a write to org-b is refused: it is not in the pass under way, and the next tick finds that pass busy.
    expect(await refusedMove('org-b')).toBe(false);
    expect(await sentAfter(1_000)).toEqual(['org-a', 'org-a', 'org-b']);

    // The pass ends with org-a moved; org-b, still pending, is tried a second later with no read or reconnect.
    sent[1].settle(true);
    expect(await sentAfter(1_000)).toEqual(['org-a', 'org-a', 'org-b', 'org-b']);
    sent[3].settle(true);
    expect(await sentAfter(5_000)).toEqual(['org-a', 'org-a', 'org-b', 'org-b']);
    generations.onModuleDestroy();
  });

  it('does not make again, later in a pass, a move made meanwhile', async () => {
    const { generations, sent, refusedMove, sentAfter } = generationsWithHeldMoves();
    expect(await refusedMove('org-a')).toBe(false);
    expect(await refusedMove('org-b')).toBe(false);
    // The pass starts with org-a, slow to be answered; org-b is still to come in it.
    expect(await sentAfter(1_000)).toEqual(['org-a', 'org-b', 'org-a']);

    // Meanwhile org-b's move is made (a newer write's, or a read's retry) and taken.
    const moved = generations.move('org-b');
    await flush();
    sent[3].settle(true);
    expect(await moved).toBe(true);

    // The pass goes on past org-b without moving it a second time.
    sent[2].settle(true);
    expect(await sentAfter(5_000)).toEqual(['org-a', 'org-b', 'org-a', 'org-b']);
    generations.onModuleDestroy();
  });

  it('still retries after Redis became ready with no move pending', async () => {
    const { generations, sent, refusedMove, sentAfter, redisReady } = generationsWithHeldMoves();
    // A reconnect with nothing pending runs a retry pass that has nothing to move.
    redisReady();
    await flush();

    expect(await refusedMove('org-a')).toBe(false);
    expect(await sentAfter(1_000)).toEqual(['org-a', 'org-a']);
    sent[1].settle(false);
    // A reconnect retries it at once as well.
    await flush();
    redisReady();
    expect(await sentAfter(0)).toEqual(['org-a', 'org-a', 'org-a']);
    sent[2].settle(true);
    expect(await sentAfter(5_000)).toEqual(['org-a', 'org-a', 'org-a']);
    generations.onModuleDestroy();
  });

  it('schedules nothing once the module is destroyed', async () => {
    const { generations, refusedMove, sentAfter } = generationsWithHeldMoves();
    generations.onModuleDestroy();
    expect(await refusedMove('org-a')).toBe(false);
    expect(await sentAfter(5_000)).toEqual(['org-a']);
  });
});
