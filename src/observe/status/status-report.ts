/** The state of one certificate on one target, as `hotcert status` reports it. */
export type PairState =
  /** HAProxy serves what the source holds (by content: leaf and chain). */
  | 'in-sync'
  /** HAProxy serves another certificate than the source holds. */
  | 'stale'
  /** HAProxy does not serve it at all. */
  | 'missing'
  | 'not-ready'
  | 'held'
  | 'error'
  /** HAProxy serves it, but hotcert's files do not hold it (a full disk, say): a restart would not serve it. */
  | 'unsaved'
  /** HAProxy serves a certificate of hotcert's that no source holds any more (a deleted lineage): it will expire. */
  | 'deleted';

/** One row: a certificate on a target. Field names are the log's (`lineage`, `target`, `serial`, `not_after`). */
export interface StatusRow {
  readonly lineage: string;
  readonly target: string;
  readonly state: PairState;
  /** The source's serial. */
  readonly serial?: string;
  readonly served_serial?: string;
  /** Of what HAProxy serves (that is what expires), else of the source's certificate. */
  readonly not_after?: string;
  readonly days_left?: number;
  readonly last_deploy_at?: string;
  readonly reason?: string;
}

export interface DaemonInfo {
  /** A hotcert holds the lock now; undefined when that cannot be told (no permission on hotcert's directory). */
  readonly running: boolean | undefined;
  readonly pid?: number;
  /** `hotcert run` published state at some point (it ran on this host before). */
  readonly stateFound: boolean;
  readonly lastFullSyncAt?: string;
  /** Set when the daemon's source watch is polling (the kernel refused the watches). */
  readonly watchDegraded?: string;
}

export interface StatusReport {
  readonly rows: readonly StatusRow[];
  readonly daemon: DaemonInfo;
  /** Targets asked, and those that answered. */
  readonly targets: number;
  readonly targetsAnswering: number;
  /** Problems reading hotcert's own state, said on stderr. */
  readonly notes: readonly string[];
}

export interface StatusThresholds {
  readonly warnDays: number;
  readonly criticalDays: number;
}

export type PluginCode = 0 | 1 | 2 | 3;
const WORDS = ['OK', 'WARNING', 'CRITICAL', 'UNKNOWN'] as const;

/**
 * The verdict of a monitoring check (Monitoring Plugins development guidelines): one line
 * `HOTCERT <STATE> - <what is wrong, by name> | <perfdata>` and the exit code 0, 1, 2 or 3. CRITICAL: something is
 * not served as the source holds it, or expires within criticalDays; WARNING: expires within warnDays, a deleted
 * lineage still served, a daemon that ran here and does not any more, or a polled source; UNKNOWN: nothing to go
 * by (no target answers and no daemon state). Pure.
 */
export function statusVerdict(report: StatusReport, thresholds: StatusThresholds): { code: PluginCode; line: string } {
  const rows = report.rows;
  const notInSync = rows.filter((row) => row.state !== 'in-sync' && row.state !== 'deleted');
  const served = rows.filter((row) => row.days_left !== undefined && row.served_serial !== undefined);
  const critical = served.filter((row) => (row.days_left as number) < thresholds.criticalDays);
  const expiring = served.filter((row) => (row.days_left as number) < thresholds.warnDays && (row.days_left as number) >= thresholds.criticalDays);
  const deleted = rows.filter((row) => row.state === 'deleted');
  const daemonGone = report.daemon.running === false && report.daemon.stateFound;

  let code: PluginCode = 0;
  if (notInSync.length > 0 || critical.length > 0) code = 2;
  else if (expiring.length > 0 || deleted.length > 0 || daemonGone || report.daemon.watchDegraded) code = 1;
  if (report.targets > 0 && report.targetsAnswering === 0 && !report.daemon.stateFound) code = 3;

  const parts: string[] = [];
  if (code === 3) parts.push(`cannot tell: none of ${report.targets} target${plural(report.targets)} answers and no state from "hotcert run"`);
  if (notInSync.length > 0) parts.push(`${notInSync.length} not in sync (${names(notInSync, (row) => `${row.lineage} on ${row.target}: ${row.state}`)})`);
  if (critical.length > 0) parts.push(`${critical.length} expire${critical.length === 1 ? 's' : ''} within ${thresholds.criticalDays} days (${names(critical, dayText)})`);
  if (expiring.length > 0) parts.push(`${expiring.length} expire${expiring.length === 1 ? 's' : ''} within ${thresholds.warnDays} days (${names(expiring, dayText)})`);
  if (deleted.length > 0) parts.push(`${deleted.length} served but no longer in the source (${names(deleted, (row) => `${row.lineage} on ${row.target}`)})`);
  if (code === 0) {
    const certificates = new Set(rows.map((row) => row.lineage)).size;
    parts.push(`${certificates} certificate${plural(certificates)} in sync on ${report.targets} target${plural(report.targets)}`);
  }
  if (report.daemon.watchDegraded) parts.push(`source polled, not watched: ${report.daemon.watchDegraded}`);
  parts.push(daemonText(report.daemon));

  const days = served.map((row) => row.days_left as number);
  const perfdata = [
    `certificates=${new Set(rows.filter((row) => row.state !== 'deleted').map((row) => row.lineage)).size};;;0`,
    `in_sync=${rows.filter((row) => row.state === 'in-sync').length};;;0`,
    `not_in_sync=${notInSync.length};;1;0`,
    `expiring=${expiring.length + critical.length};1;;0`,
    `deleted_served=${deleted.length};1;;0`,
    ...(days.length > 0 ? [`min_days_left=${Math.min(...days)};${thresholds.warnDays}:;${thresholds.criticalDays}:`] : []),
    `targets_answering=${report.targetsAnswering};;;0;${report.targets}`,
  ];
  return { code, line: `HOTCERT ${WORDS[code]} - ${parts.join('; ')} | ${perfdata.join(' ')}` };
}

function daemonText(daemon: DaemonInfo): string {
  if (daemon.running === true) return `daemon running${daemon.pid ? ` (pid ${daemon.pid})` : ''}`;
  if (daemon.running === false) return daemon.stateFound ? 'daemon not running (it ran here before)' : 'no daemon running';
  return 'whether the daemon runs is unknown (no access to its lock)';
}

function dayText(row: StatusRow): string {
  return `${row.lineage} on ${row.target}: ${row.days_left} day${plural(row.days_left ?? 0)}`;
}

// The first line stays readable in a monitoring UI: five names, then a count.
function names(rows: readonly StatusRow[], text: (row: StatusRow) => string): string {
  const shown = rows.slice(0, 5).map(text);
  return rows.length > 5 ? `${shown.join(', ')} and ${rows.length - 5} more` : shown.join(', ');
}

function plural(count: number): string {
  return count === 1 ? '' : 's';
}

export function formatStatusTable(rows: readonly StatusRow[]): string {
  const header = ['LINEAGE', 'TARGET', 'STATE', 'SERIAL', 'SERVED SERIAL', 'NOT AFTER', 'DAYS', 'LAST DEPLOY'];
  const lines = rows.map((row) => [
    row.lineage,
    row.target,
    row.state,
    row.serial ?? '-',
    row.served_serial ?? '-',
    row.not_after?.slice(0, 10) ?? '-',
    row.days_left === undefined ? '-' : String(row.days_left),
    row.last_deploy_at?.replace(/\.\d+Z$/, 'Z') ?? '-',
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...lines.map((line) => (line[column] as string).length)));
  const render = (cells: readonly string[]): string => cells.map((cell, column) => cell.padEnd(widths[column] as number)).join('  ').trimEnd();
  const reasons = rows.filter((row) => row.reason && row.state !== 'in-sync').map((row) => `${row.lineage} on ${row.target}: ${row.state}: ${row.reason}`);
  return [render(header), ...lines.map(render), ...(reasons.length ? ['', ...reasons] : [])].join('\n');
}
