import { readdirSync, readFileSync } from 'node:fs';
import { Client } from 'pg';

/**
 * Where the host's CPU went while a phase ran, per counted batch: the service process, the PostgreSQL server (its
 * postmaster and every process it started: backends, checkpointer, WAL writer…), this load generator, and everything
 * else; and how much of the host stayed idle or waited on I/O. Read from /proc (Linux), so a throughput figure comes
 * with what bounded it.
 */
export interface CpuSplit {
  service_ms: number;
  /** null: the server is not a process of this host (a remote or containerized PostgreSQL). */
  postgres_ms: number | null;
  load_generator_ms: number;
  /** The host's busy time that none of the three above account for (other work on a shared machine). */
  other_ms: number;
  /** Shares of all the host's cores over the phase's wall time. */
  host_idle_pct: number;
  host_iowait_pct: number;
  /** WAL PostgreSQL wrote (its insert position's move; full-page images after a checkpoint make it grow), in MB. */
  wal_mb: number | null;
}

/** Linux reports process and host CPU times in USER_HZ ticks, 100 a second on every architecture Node.js runs on. */
const TICK_MS = 10;

/** utime + stime (and stime, the kernel part, alone), and cutime + cstime (children that exited, which for the postmaster are its ended backends), in ticks. */
function processTicks(pid: number): { own: number; kernel: number; children: number; ppid: number; comm: string } | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name is in parentheses and may hold spaces; the fields after it are numbered from "state" (field 3).
  const close = text.lastIndexOf(')');
  const comm = text.slice(text.indexOf('(') + 1, close);
  const fields = text.slice(close + 2).split(' ');
  const at = (field: number) => Number(fields[field - 3]);
  return { own: at(14) + at(15), kernel: at(15), children: at(16) + at(17), ppid: at(4), comm };
}

/** A process's own CPU time so far in ms: user and system together, and the system (kernel) part; null once it is gone or unreadable. */
export function processCpuMs(pid: number): { total: number; kernel: number } | null {
  const ticks = processTicks(pid);
  return ticks === null ? null : { total: ticks.own * TICK_MS, kernel: ticks.kernel * TICK_MS };
}

/** The postmaster and its current children: their own ticks, and the ticks of children that ended (kept by the postmaster). */
function serverTicks(postmasterPid: number): number | null {
  const postmaster = processTicks(postmasterPid);
  if (postmaster === null) return null;
  let ticks = postmaster.own + postmaster.children;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const child = processTicks(Number(entry));
    if (child?.ppid === postmasterPid) ticks += child.own;
  }
  return ticks;
}

function hostTicks(): { busy: number; idle: number; iowait: number; all: number } {
  const [, ...values] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  // user nice system idle iowait irq softirq steal (guest time is already inside user and nice).
  const [user, nice, system, idle, iowait, irq, softirq, steal] = values.map(Number);
  const busy = user + nice + system + irq + softirq + (steal ?? 0);
  return { busy, idle, iowait, all: busy + idle + iowait };
}

/**
 * The PostgreSQL server's postmaster, when it runs on this host: the parent of this connection's backend. null when the
 * backend is not a local process of that name (another host, a container, a pooler in between).
 */
export async function findPostgresServerPid(databaseUrl: string): Promise<number | null> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const backend = processTicks(rows[0].pid);
    if (backend === null || !backend.comm.startsWith('postgres')) return null;
    const postmaster = processTicks(backend.ppid);
    return postmaster !== null && postmaster.comm.startsWith('postgres') ? backend.ppid : null;
  } finally {
    await client.end();
  }
}

/** The server's WAL insert position in bytes, through a connection of its own (null when none is given). */
async function walPosition(databaseUrl: string | null): Promise<bigint | null> {
  if (databaseUrl === null) return null;
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ lsn: string }>(`SELECT pg_current_wal_insert_lsn() - '0/0' AS lsn`);
    return BigInt(rows[0].lsn);
  } finally {
    await client.end();
  }
}

/**
 * Measures one piece of work's CPU split; `batches` divides the times into per-batch figures. With a database URL, the
 * WAL written in the meantime too.
 */
export async function measureCpuSplit<T>(
  servicePid: number,
  postgresPid: number | null,
  batches: number,
  work: () => Promise<T>,
  databaseUrl: string | null = null,
): Promise<{ result: T; cpu: CpuSplit }> {
  const wal0 = await walPosition(databaseUrl);
  const service0 = processTicks(servicePid);
  const server0 = postgresPid === null ? null : serverTicks(postgresPid);
  const host0 = hostTicks();
  const generator0 = process.cpuUsage();
  const result = await work();
  const generator = process.cpuUsage(generator0);
  const host1 = hostTicks();
  const server1 = postgresPid === null ? null : serverTicks(postgresPid);
  const service1 = processTicks(servicePid);
  const wal1 = await walPosition(databaseUrl);

  const perBatch = (ms: number) => Math.round((ms / batches) * 10) / 10;
  const serviceMs = service0 && service1 ? (service1.own - service0.own) * TICK_MS : 0;
  const postgresMs = server0 !== null && server1 !== null ? (server1 - server0) * TICK_MS : null;
  const generatorMs = (generator.user + generator.system) / 1000;
  const hostBusyMs = (host1.busy - host0.busy) * TICK_MS;
  const hostAll = Math.max(1, host1.all - host0.all);
  const pct = (ticks: number) => Math.round((ticks / hostAll) * 1000) / 10;
  return {
    result,
    cpu: {
      service_ms: perBatch(serviceMs),
      postgres_ms: postgresMs === null ? null : perBatch(postgresMs),
      load_generator_ms: perBatch(generatorMs),
      other_ms: perBatch(Math.max(0, hostBusyMs - serviceMs - (postgresMs ?? 0) - generatorMs)),
      host_idle_pct: pct(host1.idle - host0.idle),
      host_iowait_pct: pct(host1.iowait - host0.iowait),
      wal_mb: wal0 === null || wal1 === null ? null : Math.round(Number(wal1 - wal0) / batches / 1e4) / 100,
    },
  };
}

/** "PostgreSQL 70.1 ms, service 15.2 ms, load generator 7.3 ms, other 1.0 ms a batch (WAL 1.2 MB); host idle 4.1 %, I/O wait 0.3 %". */
export function describeCpuSplit(cpu: CpuSplit): string {
  const postgres = cpu.postgres_ms === null ? 'PostgreSQL not on this host' : `PostgreSQL ${cpu.postgres_ms} ms`;
  const wal = cpu.wal_mb === null ? '' : ` (WAL ${cpu.wal_mb} MB)`;
  return `${postgres}, service ${cpu.service_ms} ms, load generator ${cpu.load_generator_ms} ms, other ${cpu.other_ms} ms a batch${wal}; host idle ${cpu.host_idle_pct} %, I/O wait ${cpu.host_iowait_pct} %`;
}
