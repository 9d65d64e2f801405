import { ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { describeCpuSplit, findPostgresServerPid, measureCpuSplit } from '../bench/cpu-split';
import { ADMIN_DATABASE_URL, databaseUrl, workerDatabaseName } from './support/test-env';

/** Burns `ms` of its own CPU for each line it reads, then answers "done"; says "ready" once started. */
const BURNER = `
const burn = (ms) => { const start = process.cpuUsage(); while ((process.cpuUsage(start).user + process.cpuUsage(start).system) / 1000 < ms) {} };
process.stdin.on('data', () => { burn(Number(process.argv[1])); process.stdout.write('done\\n'); });
process.stdout.write('ready\\n');
`;

function nextLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve) => child.stdout?.once('data', (data: Buffer) => resolve(data.toString().trim())));
}

function burnOwnCpu(ms: number): void {
  const start = process.cpuUsage();
  while ((process.cpuUsage(start).user + process.cpuUsage(start).system) / 1000 < ms) {
    // Spin: the load generator's share is this process's own CPU.
  }
}

/** The bench's CPU split per batch: each process's CPU lands on its own line, read from /proc. */
describe('bench CPU split', () => {
  let admin: Client;
  beforeAll(async () => {
    admin = new Client({ connectionString: ADMIN_DATABASE_URL });
    await admin.connect();
  });
  afterAll(() => admin.end());

  it('finds the local PostgreSQL server: the pid its data directory records', async () => {
    const [{ data_directory: dataDirectory }] = (await admin.query('SHOW data_directory')).rows as { data_directory: string }[];
    const recorded = Number(readFileSync(join(dataDirectory, 'postmaster.pid'), 'utf8').split('\n')[0]);
    await expect(findPostgresServerPid(ADMIN_DATABASE_URL)).resolves.toBe(recorded);
  });

  it("splits a phase's CPU between the service, PostgreSQL and the load generator, per batch, with the WAL written", async () => {
    // The "service": a process that burns 400 ms of its own CPU when asked.
    const service = spawn(process.execPath, ['-e', BURNER, '400'], { stdio: ['pipe', 'pipe', 'inherit'] });
    try {
      expect(await nextLine(service)).toBe('ready');
      const postgresPid = await findPostgresServerPid(ADMIN_DATABASE_URL);
      const worker = new Client({ connectionString: databaseUrl(workerDatabaseName()) });
      await worker.connect();
      const table = `cpu_split_probe_${process.pid}`;
      const { result, cpu } = await measureCpuSplit(
        service.pid as number,
        postgresPid,
        2,
        async () => {
          const burnt = nextLine(service);
          service.stdin?.write('go\n');
          // PostgreSQL's share: a query that only computes; the load generator's: 300 ms of this process.
          const counted = admin.query('SELECT count(*)::int AS n FROM generate_series(1, 5000000)');
          burnOwnCpu(300);
          await burnt;
          // About 10 MB of WAL: 200,000 rows of a new table.
          await worker.query(`CREATE TABLE ${table} AS SELECT g AS n, md5(g::text) AS hash FROM generate_series(1, 200000) g`);
          return ((await counted).rows[0] as { n: number }).n;
        },
        databaseUrl(workerDatabaseName()),
      ).finally(async () => {
        await worker.query(`DROP TABLE IF EXISTS ${table}`);
        await worker.end();
      });
      expect(result).toBe(5_000_000);
      // 200,000 rows of about 70 bytes with their headers, in two batches: at least 5 MB a batch (other test files
      // may write WAL meanwhile, so only a unit slip, bytes or kB for MB, is bounded from above).
      expect(cpu.wal_mb).toBeGreaterThanOrEqual(5);
      expect(cpu.wal_mb).toBeLessThan(1000);
      // Per batch (2): the service's 400 ms and this process's 300 ms, halved; /proc counts in 10 ms ticks.
      expect(cpu.service_ms).toBeGreaterThanOrEqual(195);
      expect(cpu.service_ms).toBeLessThan(260);
      expect(cpu.load_generator_ms).toBeGreaterThanOrEqual(150);
      expect(cpu.postgres_ms).toBeGreaterThanOrEqual(50);
      expect(cpu.other_ms).toBeGreaterThanOrEqual(0);
      expect(cpu.host_idle_pct).toBeGreaterThanOrEqual(0);
      expect(cpu.host_idle_pct).toBeLessThanOrEqual(100);
      expect(describeCpuSplit(cpu)).toBe(
        `PostgreSQL ${cpu.postgres_ms} ms, service ${cpu.service_ms} ms, load generator ${cpu.load_generator_ms} ms, other ${cpu.other_ms} ms a batch (WAL ${cpu.wal_mb} MB); host idle ${cpu.host_idle_pct} %, I/O wait ${cpu.host_iowait_pct} %`,
      );
    } finally {
      service.kill();
    }
  });

  it('says so when PostgreSQL is not a process of this host', async () => {
    const service = spawn(process.execPath, ['-e', BURNER, '50'], { stdio: ['pipe', 'pipe', 'inherit'] });
    try {
      expect(await nextLine(service)).toBe('ready');
      const { cpu } = await measureCpuSplit(service.pid as number, null, 1, async () => {
        const burnt = nextLine(service);
        service.stdin?.write('go\n');
        await burnt;
      });
      expect(cpu.postgres_ms).toBeNull();
      expect(cpu.wal_mb).toBeNull();
      expect(cpu.service_ms).toBeGreaterThanOrEqual(40);
      expect(describeCpuSplit(cpu)).toMatch(/^PostgreSQL not on this host, service \d/);
    } finally {
      service.kill();
    }
  });
});
