/**
 * Where the cores went during a measurement, from /proc: CPU seconds of each of our processes, the
 * whole machine's busy and I/O-wait time, and so the CPU used by processes that are not ours (other
 * people's test suites): the figure that says whether the machine was quiet.
 */
import fs from 'node:fs';

const TICKS_PER_SECOND = 100;

/** Fields of /proc/<pid>/stat from field 3 on (the command name may hold spaces and parentheses). */
function statFields(pid: number | string): string[] | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
  } catch {
    return undefined;
  }
}

function processSeconds(pid: number): number {
  const fields = statFields(pid);
  if (!fields) return 0;
  // utime, stime, cutime, cstime (fields 14-17 of stat; the slice starts at field 3).
  return (
    (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / TICKS_PER_SECOND
  );
}

/**
 * `roots` and every process below them. A child's CPU reaches its parent's cutime only once it has
 * exited and been reaped, and PostgreSQL's backends live as long as the connection pools that opened
 * them: without them a cluster's database would look idle.
 */
function descendants(roots: readonly number[]): number[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const ppid = Number(statFields(entry)?.[1]);
    if (!Number.isFinite(ppid)) continue;
    children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
  }
  const all = new Set<number>();
  const visit = (pid: number) => {
    if (all.has(pid)) return;
    all.add(pid);
    for (const child of children.get(pid) ?? []) visit(child);
  };
  roots.forEach(visit);
  return [...all];
}

/** A name's CPU seconds: one process (its reaped children included), or a list and all its descendants. */
function cpuSeconds(pids: number | readonly number[]): number {
  if (typeof pids === 'number') return processSeconds(pids);
  return descendants(pids).reduce((sum, pid) => sum + processSeconds(pid), 0);
}

function machine(): { busy: number; iowait: number } {
  const fields = fs
    .readFileSync('/proc/stat', 'utf8')
    .split('\n')[0]!
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  // cpu  user nice system idle iowait irq softirq steal ...
  const at = (i: number) => fields[i] ?? 0;
  return {
    busy: (at(0) + at(1) + at(2) + at(5) + at(6) + at(7)) / TICKS_PER_SECOND,
    iowait: at(4) / TICKS_PER_SECOND,
  };
}

export interface CpuUse {
  seconds: number;
  /** Cores used on average, per process name. */
  cores: Record<string, number>;
  machineBusyCores: number;
  ioWaitCores: number;
  /** Busy cores not accounted for by our processes. */
  foreignCores: number;
}

export class CpuMeter {
  private readonly start: { at: number; procs: Record<string, number>; machine: ReturnType<typeof machine> };

  /** `pids`: per name, one process, or a list of processes counted with all their descendants. */
  constructor(private readonly pids: () => Record<string, number | readonly number[]>) {
    this.start = { at: performance.now(), procs: this.sample(), machine: machine() };
  }

  private sample(): Record<string, number> {
    return Object.fromEntries(Object.entries(this.pids()).map(([name, pid]) => [name, cpuSeconds(pid)]));
  }

  stop(): CpuUse {
    const seconds = (performance.now() - this.start.at) / 1000;
    const procs = this.sample();
    const m = machine();
    const cores: Record<string, number> = {};
    let ours = 0;
    for (const [name, s] of Object.entries(procs)) {
      const used = Math.max(0, s - (this.start.procs[name] ?? s));
      cores[name] = used / seconds;
      ours += used;
    }
    const busy = m.busy - this.start.machine.busy;
    return {
      seconds,
      cores,
      machineBusyCores: busy / seconds,
      ioWaitCores: (m.iowait - this.start.machine.iowait) / seconds,
      foreignCores: Math.max(0, busy - ours) / seconds,
    };
  }
}
