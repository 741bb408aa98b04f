import { dirname } from 'node:path';
import { sameIdentity } from '../../core/cert-identity.js';
import type { GatedCertificate } from '../../core/certificate-gate.js';
import type { SourceFacts } from '../../core/facts.js';
import type { Config, TargetConfig } from '../../config/schema.js';
import type { CertStoreDetails } from '../../haproxy/cert-replies.js';
import type { RuntimeClient } from '../../haproxy/runtime-client.js';
import { storePath } from '../../haproxy/store-path.js';
import { ProcessLock } from '../../platform/files/process-lock.js';
import type { CertificateSource } from '../../sources/source.js';
import { forEachLimited } from '../../run/for-each-limited.js';
import { readDaemonState, type DaemonStateFile } from '../state/daemon-state.js';
import type { StatusReport, StatusRow } from './status-report.js';

const READS_IN_FLIGHT = 16;

export interface StatusTarget {
  readonly target: TargetConfig;
  readonly client: RuntimeClient;
}

/** Whether hotcert's files hold a certificate as served (its bundle and crt-list line); the problem when not. */
export type FilesCheck = (name: string, target: TargetConfig, certificate: GatedCertificate) => Promise<string | undefined>;

/**
 * Compares, for every certificate of the source (or the named ones) and every target, what the source holds with
 * what HAProxy serves, by content; adds what only the daemon knows (last deploy, a held rollback, an error) from
 * its state file, whether a daemon holds the lock now, and what HAProxy serves from hotcert's bundles that no
 * source holds any more. Works whether or not the daemon runs.
 */
export async function collectStatus(config: Config, source: CertificateSource, targets: readonly StatusTarget[], filesCheck: FilesCheck, names: readonly string[] | undefined, now: Date): Promise<StatusReport> {
  const notes: string[] = [];
  let daemon: DaemonStateFile | undefined;
  try {
    daemon = await readDaemonState(config.state.file);
  } catch (error) {
    notes.push(`cannot read ${config.state.file}: ${(error as Error).message}`);
  }
  const lock = await ProcessLock.probe(dirname(config.crtList.file));
  const listing = await source.list();
  const wanted = (name: string): boolean => names === undefined || names.includes(name);
  // Several reads in flight, as a sync has: each waits on the source's assessment worker, and one at a time a status
  // of 10000 lineages took 4-6 s.
  const certificates = await forEachLimited(listing.names.filter(wanted), READS_IN_FLIGHT, async (name) => ({ name, facts: await source.read(name, now) }));
  await source.close();

  const rows: StatusRow[] = [];
  let answering = 0;
  for (const { target, client } of targets) {
    let served: (CertStoreDetails | undefined)[] | undefined;
    let stores: string[] | undefined;
    let unreachable: string | undefined;
    try {
      served = await client.showCerts(certificates.map(({ name }) => storePath(target.bundlesDir, name)));
      stores = await client.listCertStores();
      answering += 1;
    } catch (error) {
      unreachable = (error as Error).message;
    }
    for (const [index, { name, facts }] of certificates.entries()) {
      const row = rowFor(name, target.name, facts, served?.[index], unreachable, daemon, now);
      const filesProblem = row.state === 'in-sync' && facts.kind === 'ready' && !target.runtimeOnly ? await filesCheck(name, target, facts.certificate) : undefined;
      rows.push(filesProblem ? { ...row, state: 'unsaved', reason: filesProblem } : row);
    }
    for (const refused of listing.refused.filter((entry) => wanted(entry.name))) rows.push({ lineage: refused.name, target: target.name, state: 'error', reason: refused.reason });
    const known = new Set([...listing.names, ...listing.refused.map((entry) => entry.name)]);
    const orphans = (stores ?? []).filter((path) => path.startsWith(`${target.bundlesDir}/`) && path.endsWith('.pem')).map((path) => path.slice(target.bundlesDir.length + 1, -'.pem'.length)).filter((name) => !known.has(name) && wanted(name));
    const orphanDetails = orphans.length > 0 ? await client.showCerts(orphans.map((name) => storePath(target.bundlesDir, name))).catch(() => orphans.map(() => undefined)) : [];
    orphans.forEach((name, index) => {
      const details = orphanDetails[index];
      if (details?.status !== 'Used') return;
      rows.push({ lineage: name, target: target.name, state: 'deleted', ...servedFields(details, now), reason: `HAProxy serves it, and ${source.location} no longer has it: it will expire unless removed (deploy.removeDeleted) or issued again` });
    });
  }
  return {
    rows,
    daemon: {
      running: lock?.held,
      ...(lock?.held && lock.pid ? { pid: lock.pid } : {}),
      stateFound: daemon !== undefined,
      ...(daemon?.lastFullSyncAt ? { lastFullSyncAt: daemon.lastFullSyncAt } : {}),
      ...(lock?.held && daemon?.watch?.kind === 'polling' ? { watchDegraded: daemon.watch.reason } : {}),
    },
    targets: targets.length,
    targetsAnswering: answering,
    notes,
  };
}

function servedFields(served: CertStoreDetails, now: Date): Pick<StatusRow, 'served_serial' | 'not_after' | 'days_left'> {
  return {
    ...(served.serial ? { served_serial: served.serial } : {}),
    ...(served.notAfter ? { not_after: served.notAfter.toISOString(), days_left: Math.floor((served.notAfter.getTime() - now.getTime()) / 86_400_000) } : {}),
  };
}

function rowFor(name: string, target: string, facts: SourceFacts, served: CertStoreDetails | undefined, unreachable: string | undefined, daemon: DaemonStateFile | undefined, now: Date): StatusRow {
  const known = daemon?.lineages[name]?.[target];
  const base = { lineage: name, target, ...(known?.lastDeployAt ? { last_deploy_at: known.lastDeployAt } : {}) };
  const servedPart = served && served.status === 'Used' ? servedFields(served, now) : {};
  if (facts.kind === 'not-ready') return { ...base, ...servedPart, state: 'not-ready', reason: facts.reason };
  if (facts.kind === 'invalid') return { ...base, ...servedPart, state: 'error', reason: facts.error.message };
  if (facts.kind === 'absent') return { ...base, ...servedPart, state: 'deleted', reason: 'removed from the source while status ran' };
  const certificate = facts.certificate;
  const withSource = { ...base, serial: certificate.serial };
  if (unreachable) return { ...withSource, state: 'error', reason: unreachable };
  if (!served || served.status !== 'Used') {
    const days = Math.floor((certificate.notAfter.getTime() - now.getTime()) / 86_400_000);
    return { ...withSource, not_after: certificate.notAfter.toISOString(), days_left: days, state: 'missing', reason: served ? `HAProxy holds the store but serves it nowhere (status ${served.status})` : 'HAProxy does not have this certificate' };
  }
  const identity = served.sha1Fingerprint ? { leafSha1: served.sha1Fingerprint, chain: served.chain } : undefined;
  if (sameIdentity(identity, certificate.identity)) return { ...withSource, ...servedPart, state: 'in-sync' };
  if (known?.outcome === 'held') return { ...withSource, ...servedPart, state: 'held', ...(known.reason ? { reason: known.reason } : {}) };
  if (known?.outcome === 'failed') return { ...withSource, ...servedPart, state: 'error', ...(known.reason ? { reason: known.reason } : {}) };
  return { ...withSource, ...servedPart, state: 'stale', reason: 'HAProxy serves another certificate than the source holds' };
}
