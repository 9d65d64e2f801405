import { closeSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { BatchedLineWriter } from './batched-line-writer';

describe('BatchedLineWriter', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'tm-lines-')), 'out.log');
  let fd: number;
  beforeEach(() => (fd = openSync(file, 'w')));
  afterEach(() => closeSync(fd));
  const nextTurn = () => new Promise((done) => setImmediate(done));

  it('writes the lines of one event-loop turn together, in order, once the turn ends', async () => {
    const writer = new BatchedLineWriter(fd);
    writer.write('{"n":1}\n');
    writer.write('{"n":2}\n');
    writer.write('{"n":3}\n');
    expect(readFileSync(file, 'utf8')).toBe('');
    await nextTurn();
    expect(readFileSync(file, 'utf8')).toBe('{"n":1}\n{"n":2}\n{"n":3}\n');
    writer.write('{"n":4}\n');
    await nextTurn();
    expect(readFileSync(file, 'utf8')).toBe('{"n":1}\n{"n":2}\n{"n":3}\n{"n":4}\n');
  });

  it('writes everything pending at once on flush, as pino asks before the process exits', () => {
    const logger = pino({ base: null, timestamp: false }, new BatchedLineWriter(fd));
    logger.info({ route: '/health/live', status: 200 }, 'request completed');
    logger.warn('second');
    logger.flush();
    expect(readFileSync(file, 'utf8').trim().split('\n').map((line) => JSON.parse(line))).toEqual([
      { level: 30, route: '/health/live', status: 200, msg: 'request completed' },
      { level: 40, msg: 'second' },
    ]);
  });
});
