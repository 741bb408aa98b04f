import { dirname } from 'node:path';
import { readFileIfExists, writeFileAtomic } from './platform/files/atomic-file.js';
import { createDirectory } from './platform/files/create-directory.js';
import { resolveOwnership } from './platform/files/resolve-ownership.js';
import { workerAssessor } from './sources/certbot/lineage-assessor.js';
import { resolveLetsencryptDir } from './sources/certbot/read-lineage.js';
import { checkContainer, readWrittenFiles } from './observe/check/check-container.js';
import { checkFiles } from './observe/check/check-files.js';
import { checkTarget } from './observe/check/check-target.js';
import type { Finding } from './observe/check/finding.js';
import { Daemon } from './run/daemon.js';
import { collectStatus, type StatusReport } from './observe/status/lineage-status.js';
import type { Config, TargetConfig } from './config/schema.js';
import { countOutcomes } from './observe/log/log-outcome.js';
import { ProcessLock } from './platform/files/process-lock.js';
import { SyncEngine, type SyncReport } from './run/sync-engine.js';
import type { DeployOptions } from './run/deploy-to-target.js';
import { DockerApi } from './platform/docker/docker-api.js';
import { containerTcpEndpoint, expandTargets, labelTargetsWithoutContainers } from './targets/container-targets.js';
import { ExecTransport } from './haproxy/exec-transport.js';
import { ReloadFallback } from './platform/docker/reload-fallback.js';
import { fixedEndpoint } from './haproxy/runtime-address.js';
import { RuntimeClient } from './haproxy/runtime-client.js';
import { PromptTransport } from './haproxy/prompt-transport.js';
import type { RuntimeTransport } from './haproxy/runtime-transport.js';
import type { Logger } from './observe/log/create-logger.js';
import { Field } from './observe/log/fields.js';

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

/**
 * hotcert's own directories (bundles, the crt-list's), created on first start, mode 0750, in bundles.group; and an
 * empty crt-list file when there is none, because HAProxy refuses to start on a `crt-list` it cannot open: with
 * `strict-sni` it starts on an empty one, and hotcert fills it at runtime.
 */
async function createOwnFiles(config: Config): Promise<void> {
  const { gid } = await resolveOwnership(config.bundles);
  await createDirectory(config.bundles.dir, 0o750, gid);
  await createDirectory(dirname(config.crtList.file), 0o750, gid);
  if ((await readFileIfExists(config.crtList.file)) === undefined) {
    await writeFileAtomic(config.crtList.file, '', { mode: 0o644, ...(gid === undefined ? {} : { gid }) });
  }
}

/** How a target is reached: its own socket, a container's TCP socket looked up on each connect, or docker exec. */
function transportFor(target: TargetConfig, docker: DockerApi | undefined): RuntimeTransport {
  const runtime = target.runtime;
  if (runtime.kind === 'unix' || runtime.kind === 'tcp') return PromptTransport.overSocket(fixedEndpoint(runtime), target.timeoutMs);
  const container = target.docker?.container;
  if (!docker || container === undefined) throw new Error(`target ${target.name}: ${runtime.kind} needs a container`);
  if (runtime.kind === 'container-tcp') {
    return PromptTransport.overSocket(containerTcpEndpoint(docker, container, runtime.port, target.docker?.network), target.timeoutMs);
  }
  // A prompt-mode session runs in one exec for a burst of commands; one-shot requests are an exec each.
  const exec = new ExecTransport(docker, container, runtime.path, target.timeoutMs);
  return new PromptTransport(exec.address, () => exec.openChannel(), exec, target.timeoutMs);
}

/**
 * The daemon's first targets. It starts without Docker too (at boot hotcert may start before dockerd): label
 * targets are then added once Docker answers (the daemon lists them again when its event stream opens).
 */
async function startingTargets(config: Config, docker: DockerApi | undefined, log: Logger): Promise<TargetConfig[]> {
  try {
    return await expandTargets(config.targets, docker);
  } catch (error) {
    log.error('cannot ask Docker which containers carry the targets\' labels; they are added once it answers', { [Field.error]: error });
    return config.targets.filter((target) => target.docker?.label === undefined);
  }
}

export function createApp(config: Config, log: Logger): App {
  const docker = config.targets.some((target) => target.docker) ? new DockerApi(config.docker.endpoint) : undefined;
  const clientFor = (target: TargetConfig) => new RuntimeClient(target.name, transportFor(target, docker));
  const reloadFallback = docker ? new ReloadFallback(docker, log) : undefined;
  const newAssessor = () =>
    workerAssessor({ letsencryptDir: config.letsencrypt.dir, letsencryptRealDir: resolveLetsencryptDir(config.letsencrypt.dir) });
  const newEngine = async (targets: readonly TargetConfig[], assessor: ReturnType<typeof newAssessor>) =>
    SyncEngine.create(config, log, targets, clientFor, assessor, undefined, reloadFallback);
  return {
    createDaemon: async () => {
      await createOwnFiles(config);
      const assessor = newAssessor();
      const engine = await newEngine(await startingTargets(config, docker, log), assessor);
      return new Daemon(config, { engine, assessor, ...(docker ? { docker } : {}), ...(reloadFallback ? { fallback: reloadFallback } : {}) }, log);
    },
    status: async (now) => {
      const targets = (await expandTargets(config.targets, docker)).map((target) => ({ target, client: clientFor(target) }));
      try {
        return await collectStatus(config, targets, now);
      } finally {
        for (const { client } of targets) client.close();
      }
    },
    checkConfig: async () => {
      const findings = await checkFiles(config);
      let targets: TargetConfig[];
      try {
        targets = await expandTargets(config.targets, docker);
      } catch (error) {
        return [...findings, { status: 'fail', subject: 'docker', message: (error as Error).message }];
      }
      const written = docker ? await readWrittenFiles(config) : undefined;
      const perTarget = await Promise.all(
        targets.map(async (target) => {
          const client = clientFor(target);
          try {
            const runtime = await checkTarget(target, client);
            const container = docker && written && target.docker ? await checkContainer(target, docker, written) : [];
            return [...runtime, ...container];
          } finally {
            client.close();
          }
        }),
      );
      const emptyGroups = labelTargetsWithoutContainers(config.targets, targets).map((target): Finding => ({ status: 'warn', subject: `target ${target.name}`, message: `no running container carries the label ${target.docker?.label} yet` }));
      return [...findings, ...perTarget.flat(), ...emptyGroups];
    },
    sync: async (options) => {
      const lock = new ProcessLock(dirname(config.crtList.file));
      if (!options.dryRun) {
        await createOwnFiles(config);
        await lock.acquire();
      }
      let engine: SyncEngine | undefined;
      try {
        const assessor = newAssessor();
        const targets = await expandTargets(config.targets, docker);
        for (const group of labelTargetsWithoutContainers(config.targets, targets)) {
          log.warn('no running container carries the label of this target: nothing to deploy to there', { [Field.target]: group.name, label: group.docker?.label ?? '' });
        }
        engine = await newEngine(targets, assessor);
        const report = await engine.syncAll(options).finally(() => assessor.close());
        const counts = countOutcomes(report.outcomes);
        const inSync = counts.failed + counts.held + counts['not-ready'] === 0;
        log.info(inSync ? 'sync finished: every target serves what Certbot holds' : 'sync finished: not everything is in sync', {
          lineages: report.lineages,
          targets: engine.targets.length,
          ...Object.fromEntries(Object.entries(counts).map(([kind, count]) => [kind.replace('-', '_'), count])),
          [Field.durationMs]: report.durationMs,
          ...(options.dryRun ? { dry_run: true } : {}),
        });
        return report;
      } finally {
        engine?.closeConnections();
        await lock.release();
      }
    },
  };
}
