import { dirname } from 'node:path';
import { ChainCertificateCache } from './core/chain-certificate-cache.js';
import { countOutcomes } from './core/outcome.js';
import type { Config, TargetConfig } from './config/schema.js';
import { crtListLineFor } from './haproxy/crt-list-file.js';
import { CrtListStore } from './haproxy/crt-list-store.js';
import { ExecTransport } from './haproxy/exec-transport.js';
import { HotcertFiles } from './haproxy/hotcert-files.js';
import { PromptTransport } from './haproxy/prompt-transport.js';
import { fixedEndpoint } from './haproxy/runtime-address.js';
import { RuntimeClient } from './haproxy/runtime-client.js';
import type { RuntimeTransport } from './haproxy/runtime-transport.js';
import { storePath } from './haproxy/store-path.js';
import { systemClock } from './haproxy/transaction-guard.js';
import { checkContainer, readWrittenFiles } from './observe/check/check-container.js';
import { checkFiles } from './observe/check/check-files.js';
import { checkTarget } from './observe/check/check-target.js';
import type { Finding } from './observe/check/finding.js';
import type { Logger } from './observe/log/create-logger.js';
import { Field } from './observe/log/fields.js';
import { LoggedProgress, type StatusSink } from './observe/log/progress.js';
import type { DaemonMetrics } from './observe/metrics/daemon-metrics.js';
import { collectStatus, type FilesCheck } from './observe/status/collect-status.js';
import type { StatusReport } from './observe/status/status-report.js';
import { DockerApi } from './platform/docker/docker-api.js';
import { ReloadFallback } from './platform/docker/reload-fallback.js';
import { readFileIfExists, removeLeftoverTempFiles, writeFileAtomic } from './platform/files/atomic-file.js';
import { createDirectory } from './platform/files/create-directory.js';
import { ProcessLock } from './platform/files/process-lock.js';
import { resolveOwnership } from './platform/files/resolve-ownership.js';
import { Daemon } from './run/daemon.js';
import { DeployEngine } from './run/deploy-engine.js';
import { runSync, type SyncReport, type SyncRequest } from './run/sync-run.js';
import { CertbotSource } from './sources/certbot/certbot-source.js';
import { CombinedSource } from './sources/combined-source.js';
import { KubernetesSource } from './sources/kubernetes/kubernetes-source.js';
import type { CertificateSource } from './sources/source.js';
import { containerTcpEndpoint, expandTargets, labelTargetsWithoutContainers } from './targets/container-targets.js';

/** The composition root: the only module that knows every adapter. Building it does no I/O. */
export interface App {
  /** `hotcert run`: the daemon, not yet started; `startReason` labels its first resync. */
  createDaemon(metrics: DaemonMetrics, startReason: string, status?: StatusSink): Promise<Daemon>;
  /** `hotcert status [NAME...]`: every certificate (or the named ones) on every target. */
  status(names: readonly string[] | undefined, now: Date): Promise<StatusReport>;
  /** Every check `hotcert check-config` reports, in a stable order: files first, then each target. */
  checkConfig(): Promise<Finding[]>;
  /** One sync, under the lock that keeps two hotcerts apart (none for a dry run). */
  sync(request: SyncRequest, status?: StatusSink): Promise<SyncReport>;
}

// While the kernel refuses file watches they are retried, first after one poll interval, doubling to a minute.
const WATCH_RETRY_MAX_MS = 60_000;

/** Where certificates come from: Certbot's live directory, Kubernetes Secret volumes, or both. */
function sourceFor(config: Config): CertificateSource {
  const policy = { clockSkewMs: config.deploy.clockSkewMs, minRsaBits: config.deploy.minRsaBits };
  const watching = { pollMs: config.watch.pollMs, watchRetryMs: [config.watch.pollMs, Math.max(config.watch.pollMs, WATCH_RETRY_MAX_MS)] as const };
  const sources: CertificateSource[] = [
    ...(config.letsencrypt ? [new CertbotSource({ letsencryptDir: config.letsencrypt.dir, policy, ...watching })] : []),
    ...(config.kubernetes ? [new KubernetesSource({ secretDirs: config.kubernetes.secretDirs, policy, ...watching })] : []),
  ];
  return sources.length === 1 ? (sources[0] as CertificateSource) : new CombinedSource(sources);
}

/**
 * hotcert's own directories (bundles, the crt-list's), created on first start, mode 0750, in bundles.group; an
 * empty crt-list file when there is none, because HAProxy refuses to start on a `crt-list` it cannot open (with
 * `strict-sni` it starts on an empty one, and hotcert fills it at runtime); and no temp file a killed hotcert left.
 */
async function prepareOwnFiles(config: Config, log: Logger): Promise<void> {
  const { gid } = await resolveOwnership(config.bundles);
  await createDirectory(config.bundles.dir, 0o750, gid);
  await createDirectory(dirname(config.crtList.file), 0o750, gid);
  if ((await readFileIfExists(config.crtList.file)) === undefined) {
    await writeFileAtomic(config.crtList.file, '', { mode: 0o644, ...(gid === undefined ? {} : { gid }) });
  }
  for (const dir of new Set([config.bundles.dir, dirname(config.crtList.file), dirname(config.state.file)])) {
    const removed = await removeLeftoverTempFiles(dir);
    if (removed.length > 0) log.warn('removed temp files a stopped hotcert left behind', { [Field.file]: dir, files: removed.length });
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
  const clientFor = (target: TargetConfig): RuntimeClient => new RuntimeClient(target.name, transportFor(target, docker));
  const reloadFallback = docker ? new ReloadFallback(docker, log) : undefined;
  const newEngine = async (targets: readonly TargetConfig[]): Promise<DeployEngine> => {
    const ownership = await resolveOwnership(config.bundles);
    const files = new HotcertFiles(config.bundles.dir, ownership, new CrtListStore(config.crtList.file), new ChainCertificateCache());
    const engine = new DeployEngine({ config, log, source: sourceFor(config), files, clientFor, clock: systemClock, ...(reloadFallback ? { fallback: reloadFallback } : {}) });
    for (const target of targets) engine.addTarget(target);
    return engine;
  };
  return {
    createDaemon: async (metrics, startReason, status) => {
      await prepareOwnFiles(config, log);
      const engine = await newEngine(await startingTargets(config, docker, log));
      return new Daemon(config, { engine, metrics, ...(docker ? { docker } : {}), ...(reloadFallback ? { fallback: reloadFallback } : {}), ...(status ? { status } : {}) }, log, startReason);
    },
    status: async (names, now) => {
      const targets = (await expandTargets(config.targets, docker)).map((target) => ({ target, client: clientFor(target) }));
      const files = new HotcertFiles(config.bundles.dir, await resolveOwnership(config.bundles), new CrtListStore(config.crtList.file), new ChainCertificateCache());
      const filesCheck: FilesCheck = async (name, target, certificate) => {
        const line = crtListLineFor(storePath(target.bundlesDir, name), config.lineages[name] ?? { sniFilters: [] });
        const facts = await files.facts(name, line, { wanted: certificate });
        if (facts.bundle?.digest !== certificate.bundleDigest) return `HAProxy serves it, but ${files.bundlePath(name)} ${facts.bundle ? 'holds another bundle' : 'does not exist'}: a restart would not serve it`;
        if (facts.crtListLine !== 'present') return `HAProxy serves it, but the crt-list file ${config.crtList.file} ${facts.crtListLine === 'absent' ? 'has no line for it' : 'has another line for it'}: a restart would not serve it so`;
        return undefined;
      };
      try {
        return await collectStatus(config, sourceFor(config), targets, filesCheck, names, now);
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
    sync: async (request, status) => {
      const lock = new ProcessLock(dirname(config.crtList.file));
      if (!request.dryRun) {
        await prepareOwnFiles(config, log);
        await lock.acquire();
      }
      let engine: DeployEngine | undefined;
      try {
        const targets = await expandTargets(config.targets, docker);
        for (const group of labelTargetsWithoutContainers(config.targets, targets)) {
          log.warn('no running container carries the label of this target: nothing to deploy to there', { [Field.target]: group.name, label: group.docker?.label ?? '' });
        }
        engine = await newEngine(targets);
        const report = await runSync(engine, request, log, new LoggedProgress(log, request.dryRun ? 'sync (dry run)' : 'sync', status));
        const counts = countOutcomes(report.outcomes);
        const inSync = counts.failed + counts.held + counts['not-ready'] === 0;
        log.log(inSync ? 'info' : 'warn', inSync ? 'sync finished: every target serves what the source holds' : 'sync finished: not everything is in sync', {
          lineages: report.certificates,
          targets: engine.targets.length,
          ...Object.fromEntries(Object.entries(counts).map(([kind, count]) => [kind.replace('-', '_'), count])),
          [Field.durationMs]: report.durationMs,
          ...(request.dryRun ? { dry_run: true } : {}),
        });
        return report;
      } finally {
        engine?.closeConnections();
        await engine?.source.close();
        await lock.release();
      }
    },
  };
}
