import { readFileSync, writeFileSync } from 'node:fs';

export interface PhaseMemory {
  phase: string;
  peak_rss_mb: number;
  /** rss at the phase's end, so a peak can be told from memory the phase left behind. */
  end_rss_mb: number;
  /**
   * hwm: the kernel's high-water mark (VmHWM), reset when the phase began; sampled: the highest VmRSS seen every
   * 20 ms (the reset was refused), which can miss a short peak.
   */
  method: 'hwm' | 'sampled';
}

function statusKb(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(`${field}:`));
  return line === undefined ? 0 : Number(line.replace(/\D+/g, ''));
}

const mb = (kb: number) => Math.round(kb / 1024);

/**
 * The service's peak resident memory phase by phase. Writing "5" to /proc/<pid>/clear_refs resets the process's
 * VmHWM to its current RSS (Linux ≥ 4.0, same user or CAP_SYS_PTRACE); where that is refused, each phase samples
 * VmRSS instead and says so.
 */
export class PhaseMemoryMeter {
  readonly phases: PhaseMemory[] = [];
  private resettable = true;

  constructor(private readonly pid: number) {}

  async measure<T>(phase: string, work: () => Promise<T>): Promise<T> {
    const method = this.resetPeak() ? 'hwm' : 'sampled';
    let sampledKb = statusKb(this.pid, 'VmRSS');
    const sampler = method === 'sampled' ? setInterval(() => (sampledKb = Math.max(sampledKb, statusKb(this.pid, 'VmRSS'))), 20) : undefined;
    try {
      return await work();
    } finally {
      clearInterval(sampler);
      const endKb = statusKb(this.pid, 'VmRSS');
      const peakKb = method === 'hwm' ? statusKb(this.pid, 'VmHWM') : Math.max(sampledKb, endKb);
      // A phase measured in several runs (loads in turns) keeps one row: its highest peak, its last end.
      const earlier = this.phases.find((row) => row.phase === phase);
      if (earlier) Object.assign(earlier, { peak_rss_mb: Math.max(earlier.peak_rss_mb, mb(peakKb)), end_rss_mb: mb(endKb) });
      else this.phases.push({ phase, peak_rss_mb: mb(peakKb), end_rss_mb: mb(endKb), method });
    }
  }

  /** The highest peak among the named phases (all when none are named). */
  peakOf(phases?: string[]): number {
    return Math.max(0, ...this.phases.filter((p) => phases === undefined || phases.includes(p.phase)).map((p) => p.peak_rss_mb));
  }

  private resetPeak(): boolean {
    if (!this.resettable) return false;
    try {
      writeFileSync(`/proc/${this.pid}/clear_refs`, '5');
      return true;
    } catch {
      this.resettable = false;
      return false;
    }
  }
}
