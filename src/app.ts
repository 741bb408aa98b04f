import { dirname } from 'node:path';
import { createDirectory } from './bundle/create-directory.js';
import { workerAssessor } from './certbot/lineage-assessor.js';
import { resolveLetsencryptDir } from './certbot/read-lineage.js';
import { checkFiles } from './check/check-files.js';
import { checkTarget } from './check/check-target.js';
import type { Finding } from './check/finding.js';
import { Daemon } from './daemon/daemon.js';
import { collectStatus, type StatusReport } from './status/lineage-status.js';
import type { Config } from './config/schema.js';
import { countOutcomes } from './deploy/log-outcome.js';
import { ProcessLock } from './deploy/process-lock.js';
import { SyncEngine, type SyncReport } from './deploy/sync-engine.js';
import type { DeployOptions } from './deploy/deploy-to-target.js';
import { RuntimeClient } from './haproxy/runtime-client.js';
import { PromptTransport } from './haproxy/prompt-transport.js';
import type { Logger } from './log/create-logger.js';
import { Field } from './log/fields.js';

/** The composition root: the only module that knows every adapter. Building it does no I/O. */
export interface App {
  /** `hotcert run`: the daemon, not yet started. */
  createDaemon(): Promise<Daemon>;
  /** `hotcert status`: every lineage on every target. */
  status(now: Date): Promise<StatusReport>;
  /** Every check `hotcert check-config` reports, in a stable order: files first, then each target. */
  checkConfig(): Promise<Finding[]>;
  /** One sync of every lineage to every target, under the lock that keeps two hotcerts apart (none for a dry run). */
  sync(options: DeployOptions): Promise<SyncReport>;
}

/** hotcert's own directories (bundles; the crt-list's is made by the lock), created on first start, mode 0750. */
async function createOwnDirectories(config: Config): Promise<void> {
  await createDirectory(config.bundles.dir);
}

export function createApp(config: Config, log: Logger): App {
  const runtimeClients = new Map(
    config.targets.map((target) => [target.name, new RuntimeClient(target.name, new PromptTransport(target.runtime, target.timeoutMs))]),
  );
  const newAssessor = () =>
    workerAssessor({ letsencryptDir: config.letsencrypt.dir, letsencryptRealDir: resolveLetsencryptDir(config.letsencrypt.dir) });
  return {
    createDaemon: async () => {
      await createOwnDirectories(config);
      const assessor = newAssessor();
      const engine = await SyncEngine.create(config, log, runtimeClients, assessor);
      return new Daemon(config, { engine, clients: runtimeClients, assessor }, log);
    },
    status: async (now) => {
      try {
        return await collectStatus(config, runtimeClients, now);
      } finally {
        for (const client of runtimeClients.values()) client.close();
      }
    },
    checkConfig: async () => {
      const findings = await checkFiles(config);
      try {
        const perTarget = await Promise.all(
          config.targets.map((target) => checkTarget(target, runtimeClients.get(target.name) as RuntimeClient)),
        );
        return [...findings, ...perTarget.flat()];
      } finally {
        for (const client of runtimeClients.values()) client.close();
      }
    },
    sync: async (options) => {
      const lock = new ProcessLock(dirname(config.crtList.file));
      if (!options.dryRun) {
        await lock.acquire();
        await createOwnDirectories(config);
      }
      try {
        const assessor = newAssessor();
        const engine = await SyncEngine.create(config, log, runtimeClients, assessor);
        const report = await engine.syncAll(options).finally(() => assessor.close());
        const counts = countOutcomes(report.outcomes);
        const inSync = counts.failed + counts.held + counts['not-ready'] === 0;
        log.info(inSync ? 'sync finished: every target serves what Certbot holds' : 'sync finished: not everything is in sync', {
          lineages: report.lineages,
          targets: config.targets.length,
          ...Object.fromEntries(Object.entries(counts).map(([kind, count]) => [kind.replace('-', '_'), count])),
          [Field.durationMs]: report.durationMs,
          ...(options.dryRun ? { dry_run: true } : {}),
        });
        return report;
      } finally {
        for (const client of runtimeClients.values()) client.close();
        await lock.release();
      }
    },
  };
}
