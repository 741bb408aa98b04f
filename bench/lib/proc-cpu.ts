import { readFileSync } from 'node:fs';
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
