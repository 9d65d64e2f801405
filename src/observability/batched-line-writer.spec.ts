import { spawn } from 'node:child_process';
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

  it('finishes a write that a full pipe cut short, byte for byte, multi-byte characters included', async () => {
    // A reader that starts late: the first write fills the pipe's buffer (64 KB) and stops part-way.
    const reader = spawn('sh', ['-c', `sleep 0.3; cat > '${file}'`], { stdio: ['pipe', 'ignore', 'inherit'] });
    const pipeFd = (reader.stdin as unknown as { _handle: { fd: number } })._handle.fd;
    const line = `{"name":"é ${'😀'.repeat(40)} ü","n":${'1'.repeat(50)}}\n`;
    const writer = new BatchedLineWriter(pipeFd);
    for (let i = 0; i < 2_000; i++) writer.write(line);
    writer.flush();
    reader.stdin?.end();
    await new Promise((done) => reader.once('close', done));
    const written = readFileSync(file);
    expect(written.length).toBe(Buffer.byteLength(line) * 2_000);
    expect(written.equals(Buffer.from(line.repeat(2_000)))).toBe(true);
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
