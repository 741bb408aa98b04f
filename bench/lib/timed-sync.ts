import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HOTCERT_BIN } from '../../test/helpers/hotcert-cli.js';
import { cpuSeconds } from './proc-cpu.js';

/** How to start hotcert: a build's main.js, with node flags and environment of its own. */
export interface HotcertBuild {
  readonly main: string;
  readonly nodeFlags?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
}

export const THIS_BUILD: HotcertBuild = { main: HOTCERT_BIN };

export interface TimedSync {
  readonly wallS: number;
  readonly userS: number;
  readonly sysS: number;
  readonly rssMb: number;
  /** CPU seconds of each thread, in the order they were created (main first), sampled every 50 ms: the last 50 ms are lost. */
  readonly threadsS: readonly number[];
  /** The "sync finished" log line. */
  readonly summary: string;
}

/** `hotcert sync` of a config, timed as a whole process by /usr/bin/time (Node's start included). */
export async function timedSync(build: HotcertBuild, configFile: string, dir: string): Promise<TimedSync> {
  const timeFile = join(dir, 'time.txt');
  const child = spawn('/usr/bin/time', ['-o', timeFile, '-f', '%e %U %S %M', process.execPath, ...(build.nodeFlags ?? []), build.main, 'sync', '--config', configFile], {
    env: { ...process.env, ...build.env, HOTCERT_LOG_FORMAT: 'text' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const threads = new Map<number, number>();
  const sampler = setInterval(() => {
    try {
      const timePid = child.pid as number;
      const nodePid = Number(readFileSync(`/proc/${timePid}/task/${timePid}/children`, 'utf8').trim().split(' ')[0]);
      if (!nodePid) return;
      for (const tid of readdirSync(`/proc/${nodePid}/task`).map(Number)) threads.set(tid, cpuSeconds(`/proc/${nodePid}/task/${tid}/stat`));
    } catch {
      // The process or one of its threads ended between the listing and the read.
    }
  }, 50);
  const code = await new Promise<number | null>((done) => child.once('close', done));
  clearInterval(sampler);
  if (code !== 0) throw new Error(`hotcert sync (${build.main}) exited with ${code}: ${stderr.split('\n').slice(-5).join('\n')}`);
  const [wallS, userS, sysS, rssKb] = (await readFile(timeFile, 'utf8')).trim().split(/\s+/).map(Number) as [number, number, number, number];
  return {
    wallS,
    userS,
    sysS,
    rssMb: rssKb / 1024,
    threadsS: [...threads].sort(([a], [b]) => a - b).map(([, seconds]) => seconds),
    summary: stderr.split('\n').find((line) => line.includes('sync finished')) ?? '',
  };
}
