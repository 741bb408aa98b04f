import { readdirSync, readFileSync } from 'node:fs';
import type { TestHaproxy } from '../../test/helpers/haproxy.js';

// USER_HZ: the unit of /proc's CPU times (proc(5)); 100 on every Linux this runs on.
const TICKS_PER_S = 100;

/** utime + stime in seconds, of a process (`/proc/<pid>/stat`, its threads included) or one thread (`/proc/<pid>/task/<tid>/stat`). */
export function cpuSeconds(statPath: string): number {
  const fields = readFileSync(statPath, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_S;
}

/** What the whole machine has run since boot, in CPU seconds: user, nice, system, irq, softirq, whoever ran it. */
export function machineCpuSeconds(): number {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]?.trim().split(/\s+/).slice(1).map(Number) ?? [];
  return [0, 1, 2, 5, 6].reduce((sum, index) => sum + (fields[index] ?? 0), 0) / TICKS_PER_S;
}

/** The PID of the HAProxy worker that answers on the runtime API (the master only forwards). */
export async function haproxyWorkerPid(haproxy: TestHaproxy): Promise<number> {
  return Number(/^Pid: (\d+)$/m.exec(await haproxy.command('show info'))?.[1]);
}

/** What the scheduler says of one thread: seconds on a CPU, seconds runnable and waiting for one (schedstat). */
export interface ThreadSchedule {
  readonly runS: number;
  readonly waitS: number;
}

/**
 * Each thread's schedule (`/proc/<pid>/task/<tid>/schedstat`: nanoseconds run, nanoseconds waited on a run queue,
 * time slices), by thread id. Between two readings, a thread's wall time less its run and wait is the time it slept:
 * for HAProxy's CLI thread, the time it waited for the next request.
 */
export function threadSchedules(pid: number): Map<number, ThreadSchedule> {
  const schedules = new Map<number, ThreadSchedule>();
  for (const tid of readdirSync(`/proc/${pid}/task`).map(Number)) {
    try {
      const [run = 0, wait = 0] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').trim().split(' ').map(Number);
      schedules.set(tid, { runS: run / 1e9, waitS: wait / 1e9 });
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return schedules;
}

/** The thread that ran most between two readings, with its run and wait in that time. */
export function busiestThread(before: Map<number, ThreadSchedule>, after: Map<number, ThreadSchedule>): ThreadSchedule {
  let busiest: ThreadSchedule = { runS: 0, waitS: 0 };
  for (const [tid, end] of after) {
    const start = before.get(tid) ?? { runS: 0, waitS: 0 };
    const delta = { runS: end.runS - start.runS, waitS: end.waitS - start.waitS };
    if (delta.runS > busiest.runS) busiest = delta;
  }
  return busiest;
}
