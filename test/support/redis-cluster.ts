import { ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createClient } from '@redis/client';
import { freePort, waitFor } from './private-redis';

const run = promisify(execFile);

/** A port whose cluster bus port (port + 10000) is free too. */
async function clusterPort(taken: Set<number>): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await freePort();
    if (port > 55_000 || taken.has(port) || taken.has(port + 10_000)) continue;
    const bus = createServer();
    const free = await new Promise<boolean>((resolve) => {
      bus.once('error', () => resolve(false));
      bus.listen(port + 10_000, '127.0.0.1', () => resolve(true));
    });
    if (free) {
      bus.close();
      await once(bus, 'close');
      taken.add(port).add(port + 10_000);
      return port;
    }
  }
  throw new Error('No free port pair for a Redis Cluster node');
}

/**
 * Three Redis Cluster masters (no replicas) started from the machine's redis-server on free ports in a temporary
 * directory, joined with `redis-cli --cluster create`; never the shared Redis on 6379.
 */
export class LocalRedisCluster {
  private constructor(
    readonly dir: string,
    readonly ports: number[],
    private readonly children: ChildProcess[],
  ) {}

  static async start(masters = 3): Promise<LocalRedisCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'tm-redis-cluster-'));
    const taken = new Set<number>();
    const ports: number[] = [];
    for (let index = 0; index < masters; index++) ports.push(await clusterPort(taken));
    const children: ChildProcess[] = [];
    const cluster = new LocalRedisCluster(dir, ports, children);
    try {
      for (const port of ports) children.push(await startNode(dir, port));
      await run('redis-cli', ['--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', '0', '--cluster-yes'], { timeout: 60_000 });
      await waitFor(async () => (await Promise.all(ports.map((port) => clusterState(port)))).every((state) => state === 'ok'), 'the Redis Cluster to be ok', 30_000);
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  get urls(): string[] {
    return this.ports.map((port) => `redis://127.0.0.1:${port}`);
  }

  /** Every key under a prefix, from every master. */
  async keys(prefix: string): Promise<string[]> {
    const all: string[] = [];
    for (const port of this.ports) {
      const client = createClient({ url: `redis://127.0.0.1:${port}` });
      await client.connect();
      try {
        for await (const batch of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) all.push(...batch);
      } finally {
        await client.close();
      }
    }
    return all;
  }

  /** SIGKILL one master (by port): its slots answer nothing until it is restarted. */
  async killNode(port: number): Promise<void> {
    const child = this.children[this.ports.indexOf(port)];
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }

  /** Starts a killed master again on its port and config file (its slots, no data), and waits for the cluster to be ok. */
  async restartNode(port: number): Promise<void> {
    const index = this.ports.indexOf(port);
    const child = this.children[index];
    if (child.exitCode === null && child.signalCode === null) return;
    this.children[index] = await startNode(this.dir, port);
    await waitFor(async () => (await Promise.all(this.ports.map((each) => clusterState(each)))).every((state) => state === 'ok'), 'the Redis Cluster to be ok again', 30_000);
  }

  /** INFO memory's used_memory of each master, in bytes. */
  async usedMemory(): Promise<number[]> {
    const used: number[] = [];
    for (const url of this.urls) {
      const client = createClient({ url });
      await client.connect();
      try {
        used.push(Number(/^used_memory:(\d+)\r?$/m.exec(await client.info('memory'))![1]));
      } finally {
        await client.close();
      }
    }
    return used;
  }

  /** The client connections every master holds, the one asking included. */
  async connectionCount(): Promise<number> {
    let count = 0;
    for (const url of this.urls) {
      const client = createClient({ url });
      await client.connect();
      try {
        count += String(await client.sendCommand(['CLIENT', 'LIST'])).trim().split('\n').length;
      } finally {
        await client.close();
      }
    }
    return count;
  }

  /** CLUSTER KEYSLOT, as Redis computes it. */
  async slotOf(key: string): Promise<number> {
    const client = createClient({ url: this.urls[0] });
    await client.connect();
    try {
      return Number(await client.sendCommand(['CLUSTER', 'KEYSLOT', key]));
    } finally {
      await client.close();
    }
  }

  /** The port of the master that holds a key (the one that does not answer MOVED). */
  async ownerPort(key: string): Promise<number> {
    const slot = await this.slotOf(key);
    const client = createClient({ url: this.urls[0] });
    await client.connect();
    try {
      const shards = (await client.sendCommand(['CLUSTER', 'SLOTS'])) as [number, number, [string, number]][];
      const shard = shards.find(([from, to]) => slot >= from && slot <= to);
      if (!shard) throw new Error(`No master owns slot ${slot}`);
      return Number(shard[2][1]);
    } finally {
      await client.close();
    }
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.children.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = once(child, 'exit');
        child.kill('SIGKILL');
        await exited;
      }),
    );
    rmSync(this.dir, { recursive: true, force: true });
  }
}

async function startNode(dir: string, port: number): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--save', '', '--appendonly', 'no', '--dir', dir],
    { stdio: ['ignore', 'pipe', 'inherit'], cwd: dir },
  );
  let output = '';
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`redis-server on ${port} exited with ${code}: ${output}`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) resolve();
    });
  });
  child.removeAllListeners('exit');
  child.stdout!.resume();
  return child;
}

async function clusterState(port: number): Promise<string> {
  const { stdout } = await run('redis-cli', ['-p', String(port), 'cluster', 'info']);
  return /cluster_state:(\w+)/.exec(stdout)?.[1] ?? 'unknown';
}
