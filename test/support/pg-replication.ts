import { execFile } from 'node:child_process';
import { appendFileSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { freePort, waitFor } from './private-redis';

const run = promisify(execFile);

/** The PostgreSQL server binaries on this machine (Debian's postgresql-15); tests fail, never skip, without them. */
export const PG_BIN = process.env.TEST_PG_BIN ?? '/usr/lib/postgresql/15/bin';

/**
 * A private primary and a streaming standby of it (initdb, pg_basebackup -R, pg_ctl), on free ports in a temporary
 * directory, run as the `postgres` OS user when the tests run as root (initdb and postgres refuse root). Never the
 * shared cluster on 5432.
 */
export class ReplicatedPostgres {
  private constructor(
    readonly dir: string,
    readonly primaryPort: number,
    readonly standbyPort: number,
    private readonly osUser: string | null,
  ) {}

  static async start(): Promise<ReplicatedPostgres> {
    for (const binary of ['initdb', 'pg_ctl', 'pg_basebackup']) {
      if (!existsSync(join(PG_BIN, binary))) throw new Error(`${join(PG_BIN, binary)} not found: install postgresql-15 (or set TEST_PG_BIN)`);
    }
    const osUser = process.getuid?.() === 0 ? 'postgres' : null;
    const dir = mkdtempSync(join(tmpdir(), 'tm-replica-'));
    if (osUser) {
      const { stdout } = await run('id', ['-u', osUser]);
      const { stdout: gid } = await run('id', ['-g', osUser]);
      chownSync(dir, Number(stdout.trim()), Number(gid.trim()));
    }
    const cluster = new ReplicatedPostgres(dir, await freePort(), await freePort(), osUser);
    try {
      await cluster.initPrimary();
      await cluster.initStandby();
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  get primaryDir(): string {
    return join(this.dir, 'primary');
  }

  get standbyDir(): string {
    return join(this.dir, 'standby');
  }

  primaryUrl(database = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.primaryPort}/${database}`;
  }

  standbyUrl(database = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.standbyPort}/${database}`;
  }

  /** One statement on the primary or the standby, on a connection of its own. */
  async query<T extends object = Record<string, unknown>>(on: 'primary' | 'standby', sql: string, params: unknown[] = [], database = 'postgres'): Promise<T[]> {
    const client = new Client({ connectionString: on === 'primary' ? this.primaryUrl(database) : this.standbyUrl(database), connectionTimeoutMillis: 5000 });
    await client.connect();
    try {
      return (await client.query<T>(sql, params)).rows;
    } finally {
      await client.end();
    }
  }

  async pauseReplay(): Promise<void> {
    await this.query('standby', 'SELECT pg_wal_replay_pause()');
    await waitFor(async () => (await this.query<{ state: string }>('standby', 'SELECT pg_get_wal_replay_pause_state() AS state'))[0].state === 'paused', 'replay to pause');
  }

  async resumeReplay(): Promise<void> {
    await this.query('standby', 'SELECT pg_wal_replay_resume()');
  }

  /** Waits until the standby has replayed everything the primary has written so far. */
  async waitForReplay(): Promise<void> {
    const [{ lsn }] = await this.query<{ lsn: string }>('primary', 'SELECT pg_current_wal_insert_lsn()::text AS lsn');
    await waitFor(
      async () => (await this.query<{ done: boolean }>('standby', 'SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS done', [lsn]))[0].done,
      'the standby to replay',
    );
  }

  async stopStandby(): Promise<void> {
    await this.pgCtl(['stop', '-D', this.standbyDir, '-m', 'immediate', '-w']);
  }

  async startStandby(): Promise<void> {
    await this.pgCtl(['start', '-D', this.standbyDir, '-l', join(this.dir, 'standby.log'), '-w', '-t', '60']);
  }

  /** SIGSTOP (or SIGCONT) the standby's postmaster and every process it started: a server that hangs without closing a socket. */
  async signalStandby(signal: 'SIGSTOP' | 'SIGCONT'): Promise<void> {
    const postmaster = Number(readFileSync(join(this.standbyDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    const { stdout } = await run('ps', ['-o', 'pid=', '--ppid', String(postmaster)]).catch(() => ({ stdout: '' }));
    const pids = [postmaster, ...stdout.split('\n').map((line) => Number(line.trim())).filter((pid) => pid > 0)];
    for (const pid of pids) {
      try {
        process.kill(pid, signal);
      } catch {
        // A backend that exited meanwhile.
      }
    }
  }

  async stop(): Promise<void> {
    for (const dataDir of [this.standbyDir, this.primaryDir]) {
      if (existsSync(join(dataDir, 'postmaster.pid'))) {
        await this.signalStandby('SIGCONT').catch(() => undefined);
        await this.pgCtl(['stop', '-D', dataDir, '-m', 'immediate', '-w']).catch(() => undefined);
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async initPrimary(): Promise<void> {
    await this.as(join(PG_BIN, 'initdb'), ['-D', this.primaryDir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
    appendFileSync(
      join(this.primaryDir, 'postgresql.conf'),
      [
        `port = ${this.primaryPort}`,
        `listen_addresses = '127.0.0.1'`,
        `unix_socket_directories = '${this.dir}'`,
        'wal_level = replica',
        'max_wal_senders = 5',
        'hot_standby = on',
        'fsync = off',
        'synchronous_commit = off',
        'full_page_writes = off',
        'shared_buffers = 32MB',
        'max_connections = 60',
        '',
      ].join('\n'),
    );
    appendFileSync(join(this.primaryDir, 'pg_hba.conf'), 'host replication postgres 127.0.0.1/32 trust\n');
    await this.pgCtl(['start', '-D', this.primaryDir, '-l', join(this.dir, 'primary.log'), '-w', '-t', '60']);
  }

  private async initStandby(): Promise<void> {
    await this.as(join(PG_BIN, 'pg_basebackup'), ['-h', '127.0.0.1', '-p', String(this.primaryPort), '-U', 'postgres', '-D', this.standbyDir, '-R', '-X', 'stream', '--no-sync']);
    appendFileSync(join(this.standbyDir, 'postgresql.conf'), `port = ${this.standbyPort}\n`);
    await this.startStandby();
    await waitFor(async () => (await this.query<{ r: boolean }>('standby', 'SELECT pg_is_in_recovery() AS r').catch(() => [{ r: false }]))[0].r, 'the standby to accept reads', 30_000);
  }

  private pgCtl(args: string[]): Promise<unknown> {
    return this.as(join(PG_BIN, 'pg_ctl'), args);
  }

  private async as(binary: string, args: string[]): Promise<void> {
    try {
      if (this.osUser) await run('runuser', ['-u', this.osUser, '--', binary, ...args], { cwd: this.dir, timeout: 120_000 });
      else await run(binary, args, { cwd: this.dir, timeout: 120_000 });
    } catch (error) {
      const { stderr, stdout } = error as { stderr?: string; stdout?: string };
      throw new Error(`${binary} ${args.join(' ')} failed: ${(error as Error).message}\n${stdout ?? ''}${stderr ?? ''}`);
    }
  }
}
