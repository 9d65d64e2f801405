import { ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { freePort, waitFor } from './private-redis';

const run = promisify(execFile);

/**
 * A private PgBouncer (Debian's pgbouncer) in transaction pooling mode on a free port, in front of a PostgreSQL
 * server, with a pool of `poolSize` server connections per database; run as `postgres` when the tests run as root
 * (PgBouncer refuses root). Fails, never skips, when the binary is missing.
 */
export class LocalPgBouncer {
  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly child: ChildProcess,
  ) {}

  static async start(upstream: { host: string; port: number }, poolSize = 2): Promise<LocalPgBouncer> {
    const binary = await run('sh', ['-c', 'command -v pgbouncer']).then(
      ({ stdout }) => stdout.trim(),
      () => '',
    );
    if (!binary) throw new Error('pgbouncer not found: install Debian\'s pgbouncer (apt-get install pgbouncer)');
    const dir = mkdtempSync(join(tmpdir(), 'tm-pgbouncer-'));
    const port = await freePort();
    writeFileSync(join(dir, 'userlist.txt'), '"postgres" ""\n');
    writeFileSync(
      join(dir, 'pgbouncer.ini'),
      [
        '[databases]',
        `* = host=${upstream.host} port=${upstream.port}`,
        '[pgbouncer]',
        'listen_addr = 127.0.0.1',
        `listen_port = ${port}`,
        `unix_socket_dir = ${dir}`,
        'auth_type = trust',
        `auth_file = ${join(dir, 'userlist.txt')}`,
        'pool_mode = transaction',
        `default_pool_size = ${poolSize}`,
        'max_client_conn = 200',
        'ignore_startup_parameters = extra_float_digits',
        '',
      ].join('\n'),
    );
    const asRoot = process.getuid?.() === 0;
    if (asRoot) {
      const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
      const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
      for (const path of [dir, join(dir, 'userlist.txt'), join(dir, 'pgbouncer.ini')]) chownSync(path, uid, gid);
    }
    const command = asRoot ? 'runuser' : binary;
    const args = asRoot ? ['-u', 'postgres', '--', binary, join(dir, 'pgbouncer.ini')] : [join(dir, 'pgbouncer.ini')];
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'], cwd: dir });
    let output = '';
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const bouncer = new LocalPgBouncer(dir, port, child);
    try {
      await waitFor(
        async () => {
          if (child.exitCode !== null) throw new Error(`pgbouncer exited with ${child.exitCode}: ${output}`);
          const client = new Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres', connectionTimeoutMillis: 1000 });
          client.on('error', () => undefined);
          return client.connect().then(
            () => client.end().then(() => true),
            () => false,
          );
        },
        'pgbouncer to accept connections',
        20_000,
      );
    } catch (error) {
      await bouncer.stop();
      throw error;
    }
    return bouncer;
  }

  url(database: string): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = once(this.child, 'exit');
      // runuser passes the signal on to pgbouncer.
      this.child.kill('SIGTERM');
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
