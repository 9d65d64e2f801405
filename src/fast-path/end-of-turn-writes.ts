/**
 * Writes queued while the event loop reads its sockets, run together once that turn's reads are done (setImmediate
 * runs right after the poll phase). A client waiting on several connections is then woken once for the responses of
 * a turn instead of once for each: on the 2-core hosts measured, waking a waiting client for every response was
 * 5–8 µs of kernel time a cached hit (docs/performance.md, "A fourteenth host"). A write waits at most for the rest
 * of its turn's reads; one that throws is handed to `fail` and the others still run.
 */
export class EndOfTurnWrites<T> {
  private queue: T[] = [];

  constructor(
    private readonly write: (item: T) => void,
    private readonly fail: (item: T, error: unknown) => void,
  ) {}

  add(item: T): void {
    if (this.queue.push(item) === 1) setImmediate(this.flush);
  }

  private readonly flush = (): void => {
    const queue = this.queue;
    // Anything added while these run (none is expected) waits for the next turn.
    this.queue = [];
    for (const item of queue) {
      try {
        this.write(item);
      } catch (error) {
        this.fail(item, error);
      }
    }
  };
}
