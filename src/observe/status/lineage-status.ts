import { join } from 'node:path';
import { assessLineage } from '../../sources/certbot/assess-lineage.js';
import { listLineages } from '../../sources/certbot/list-lineages.js';
import { readLineage, resolveLetsencryptDir } from '../../sources/certbot/read-lineage.js';
import type { Config, TargetConfig } from '../../config/schema.js';
import type { CertStoreDetails } from '../../haproxy/cert-replies.js';
import type { RuntimeClient } from '../../haproxy/runtime-client.js';
import { readDaemonState, type DaemonStateFile } from '../state/daemon-state.js';

export type PairStatus = 'in-sync' | 'stale' | 'missing' | 'not-ready' | 'held' | 'error';

/** One row of `hotcert status`: a lineage on a target. */
export interface StatusRow {
  readonly lineage: string;
  readonly target: string;
  readonly state: PairStatus;
  readonly diskSerial?: string;
  readonly servedSerial?: string;
  readonly notAfter?: string;
  readonly daysLeft?: number;
  readonly lastDeployAt?: string;
  readonly reason?: string;
}

export interface StatusReport {
  readonly rows: readonly StatusRow[];
  /** The daemon's state file was found (`hotcert run` has published state). */
  readonly daemonState: boolean;
  /** Why the state file could not be read, when it exists but is broken. */
  readonly daemonStateProblem?: string;
}

/**
 * Compares, for every lineage and target, what Certbot's live dir holds with what HAProxy serves, and adds what only
 * the daemon knows (last deploy, a held rollback, an error) from its state file. Works whether or not it runs.
 */
export async function collectStatus(
  config: Config,
  targets: ReadonlyArray<{ readonly target: TargetConfig; readonly client: RuntimeClient }>,
  now: Date,
): Promise<StatusReport> {
  const listing = await listLineages(config.letsencrypt.dir);
  const realDir = resolveLetsencryptDir(config.letsencrypt.dir);
  let daemon: DaemonStateFile | undefined;
  let daemonStateProblem: string | undefined;
  try {
    daemon = await readDaemonState(config.state.file);
  } catch (error) {
    daemonStateProblem = `cannot read ${config.state.file}: ${(error as Error).message}`;
  }
  const disk = listing.names.map((name) => ({ name, assessment: assessLineage(readLineage(config.letsencrypt.dir, realDir, name), now) }));
  const rows: StatusRow[] = [];
  for (const { target, client } of targets) {
    let served: (CertStoreDetails | undefined)[] | undefined;
    let unreachable: string | undefined;
    try {
      served = await client.showCerts(disk.map(({ name }) => join(target.bundlesDir, `${name}.pem`)));
    } catch (error) {
      unreachable = (error as Error).message;
    }
    disk.forEach(({ name, assessment }, index) => {
      rows.push(rowFor(name, target.name, assessment, served?.[index], unreachable, daemon, now));
    });
    for (const name of listing.unsafeNames) {
      rows.push({ lineage: name, target: target.name, state: 'error', reason: 'its name has characters hotcert does not put into an HAProxy command' });
    }
  }
  return { rows, daemonState: daemon !== undefined, ...(daemonStateProblem ? { daemonStateProblem } : {}) };
}

function rowFor(
  lineage: string,
  target: string,
  assessment: ReturnType<typeof assessLineage>,
  served: CertStoreDetails | undefined,
  unreachable: string | undefined,
  daemon: DaemonStateFile | undefined,
  now: Date,
): StatusRow {
  const known = daemon?.lineages[lineage]?.[target];
  const base = {
    lineage,
    target,
    ...(served?.serial ? { servedSerial: served.serial } : {}),
    ...(known?.lastDeployAt ? { lastDeployAt: known.lastDeployAt } : {}),
  };
  const servedNotAfter = served?.notAfter;
  const withExpiry = (notAfter: Date | undefined) =>
    notAfter ? { notAfter: notAfter.toISOString(), daysLeft: Math.floor((notAfter.getTime() - now.getTime()) / 86_400_000) } : {};
  if (assessment.kind !== 'ready') {
    return { ...base, ...withExpiry(servedNotAfter), state: assessment.kind === 'not-ready' ? 'not-ready' : 'error', reason: assessment.reason };
  }
  const snapshot = assessment.snapshot;
  const row = { ...base, diskSerial: snapshot.serial };
  if (unreachable) return { ...row, ...withExpiry(snapshot.notAfter), state: 'error', reason: unreachable };
  if (!served || served.status !== 'Used') {
    return { ...row, ...withExpiry(snapshot.notAfter), state: 'missing', reason: served ? `HAProxy holds the store but serves it nowhere (status ${served.status})` : 'HAProxy does not have this certificate' };
  }
  // What matters for expiry is what HAProxy serves.
  if (served.serial === snapshot.serial) return { ...row, ...withExpiry(servedNotAfter), state: 'in-sync' };
  if (known?.outcome === 'held') return { ...row, ...withExpiry(servedNotAfter), state: 'held', ...(known.reason ? { reason: known.reason } : {}) };
  if (known?.outcome === 'failed') return { ...row, ...withExpiry(servedNotAfter), state: 'error', ...(known.reason ? { reason: known.reason } : {}) };
  return { ...row, ...withExpiry(servedNotAfter), state: 'stale', reason: 'HAProxy serves another certificate than Certbot\'s live dir holds' };
}

/** Nagios-style, for monitoring checks: 0 all in sync, 1 something expires within warnDays, 2 not in sync. */
export function statusExitCode(rows: readonly StatusRow[], warnDays: number): 0 | 1 | 2 {
  if (rows.some((row) => row.state !== 'in-sync')) return 2;
  if (rows.some((row) => row.daysLeft !== undefined && row.daysLeft < warnDays)) return 1;
  return 0;
}

export function formatStatusTable(rows: readonly StatusRow[]): string {
  const header = ['LINEAGE', 'TARGET', 'STATE', 'DISK SERIAL', 'SERVED SERIAL', 'NOT AFTER', 'DAYS', 'LAST DEPLOY'];
  const lines = rows.map((row) => [
    row.lineage,
    row.target,
    row.state,
    row.diskSerial ?? '-',
    row.servedSerial ?? '-',
    row.notAfter?.slice(0, 10) ?? '-',
    row.daysLeft === undefined ? '-' : String(row.daysLeft),
    row.lastDeployAt?.replace(/\.\d+Z$/, 'Z') ?? '-',
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...lines.map((line) => (line[column] as string).length)));
  const render = (cells: readonly string[]) => cells.map((cell, column) => cell.padEnd(widths[column] as number)).join('  ').trimEnd();
  const reasons = rows.filter((row) => row.reason && row.state !== 'in-sync').map((row) => `${row.lineage} on ${row.target}: ${row.state}: ${row.reason}`);
  return [render(header), ...lines.map(render), ...(reasons.length ? ['', ...reasons] : [])].join('\n');
}
