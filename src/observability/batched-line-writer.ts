import { writeSync } from 'node:fs';

/** How long a write that met a full pipe (EAGAIN) waits before trying again. */
const BUSY_RETRY_MS = 5;

/**
 * A pino destination that writes the lines of one event-loop turn to a file descriptor in one synchronous write, at
 * the end of that turn (setImmediate) and at exit: one system call per turn instead of one per line, which under load
 * was the largest cost of a cached request after the response itself (docs/performance.md). Nothing waits in memory
 * longer than the turn that logged it, so a crash loses at most the lines of the turn it happened in; a line logged
 * while the process exits (process.on('exit')) is written at once.
 */
export class BatchedLineWriter {
  /** The turn's lines as one string: appending and writing it whole is about half the cost of joining an array and encoding it into a Buffer. */
  private pending = '';
  private scheduled = false;
  private exiting = false;
  private readonly flushSoon = () => {
    this.scheduled = false;
    this.flush();
  };

  constructor(private readonly fd: number) {
    process.once('exit', () => {
      this.exiting = true;
      this.flush();
    });
  }

  write(line: string): void {
    this.pending += line;
    if (this.exiting) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushSoon);
    }
  }

  /** Writes every pending line now (pino calls it on logger.flush()). */
  flush(): void {
    if (this.pending.length === 0) return;
    const text = this.pending;
    this.pending = '';
    let written = 0;
    try {
      written = writeSync(this.fd, text);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') return;
    }
    // Usually the whole text went; what a full pipe left over is written on as bytes, from where it stopped.
    if (written < Buffer.byteLength(text)) this.writeRest(Buffer.from(text), written);
  }

  private writeRest(data: Buffer, offset: number): void {
    while (offset < data.length) {
      try {
        offset += writeSync(this.fd, data, offset);
      } catch (error) {
        // A pipe that is full (a slow log collector) is waited for, as pino's own synchronous destination does; a closed
        // one (EPIPE) has no reader left to tell, and the service keeps serving.
        if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') return;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, BUSY_RETRY_MS);
      }
    }
  }
}

let stdoutWriter: BatchedLineWriter | undefined;

/** The one writer of stdout: every logger of the process shares it (and its one exit hook), so their lines keep their order. */
export function batchedStdout(): BatchedLineWriter {
  stdoutWriter ??= new BatchedLineWriter(1);
  return stdoutWriter;
}
