import { createApp } from '../../app.js';
import { loadConfig } from '../../config/load-config.js';
import type { Config } from '../../config/schema.js';
import type { Daemon } from '../../run/daemon.js';
import { ConfigError, LockHeldError } from '../../errors.js';
import type { Logger } from '../../observe/log/create-logger.js';
import { Field } from '../../observe/log/fields.js';
import { ExitCode, type ExitCodeValue } from '../exit-codes.js';
import { readVersion } from '../version.js';
import { DaemonMetrics } from '../../observe/metrics/daemon-metrics.js';
import { SystemdStatus } from '../../platform/systemd/systemd-status.js';

/** How long running jobs may take to finish at SIGTERM (systemd's TimeoutStopSec is longer). */
const STOP_DEADLINE_MS = 10_000;

/**
 * `hotcert run`: the daemon under its signals. SIGTERM and SIGINT stop it (exit 0); SIGHUP re-reads the
 * configuration file: a valid one replaces the running setup and resyncs, an invalid one is reported and the
 * running setup kept.
 */
export async function runCommand(config: Config, configFile: string | undefined, log: Logger): Promise<ExitCodeValue> {
  // One registry for the whole process: counters and histograms survive a configuration reload.
  const metrics = new DaemonMetrics(readVersion());
  const status = SystemdStatus.fromEnvironment(process.env);
  let daemon: Daemon = await createApp(config, log).createDaemon(metrics, 'start', status);
  let running = config;
  // Reloads and the stop run one after another, never interleaved.
  let busy: Promise<unknown> = Promise.resolve();
  let resolveExit!: (code: ExitCodeValue) => void;
  const exited = new Promise<ExitCodeValue>((resolve) => (resolveExit = resolve));

  const stop = (signal: string): void => {
    busy = busy.then(async () => {
      log.info('stopping', { signal });
      const finished = await daemon.stop(STOP_DEADLINE_MS);
      if (!finished) log.warn('stopped before every running job finished; the next start resyncs them');
      log.info('stopped');
      resolveExit(ExitCode.ok);
    });
  };
  const reload = async (): Promise<void> => {
    let next: Config;
    try {
      next = (await loadConfig({ file: configFile, env: process.env })).config;
    } catch (error) {
      const lines = error instanceof ConfigError ? error.issues.map((issue) => `  ${issue.path}: ${issue.message}`) : [];
      log.error(['configuration not reloaded; the running one is kept', ...lines].join('\n'), { [Field.error]: error });
      return;
    }
    log.info('configuration reloaded; resyncing every target', { [Field.configFile]: configFile ?? 'defaults' });
    await daemon.stop(STOP_DEADLINE_MS);
    log.level = next.log.level;
    try {
      daemon = await createApp(next, log).createDaemon(metrics, 'configuration reloaded', status);
      await daemon.start();
      running = next;
    } catch (error) {
      log.error('the reloaded configuration could not start; going back to the previous one', { [Field.error]: error });
      log.level = running.log.level;
      daemon = await createApp(running, log).createDaemon(metrics, 'configuration reloaded (previous one kept)', status);
      await daemon.start();
    }
  };

  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => {
    busy = busy.then(reload).catch((error: unknown) => {
      log.error('hotcert failed while reloading', { [Field.error]: error });
      resolveExit(ExitCode.software);
    });
  });

  const startedMs = Date.now();
  try {
    await daemon.start();
  } catch (error) {
    if (error instanceof LockHeldError) {
      log.error(error.message, { [Field.errorCode]: error.code });
      await daemon.stop(STOP_DEADLINE_MS);
      return ExitCode.tempfail;
    }
    throw error;
  }
  status?.status(`running: ${running.targets.length} target${running.targets.length === 1 ? '' : 's'}, first full sync attempted`);
  log.info('hotcert running: first full sync attempted, watching the source', {
    source: [running.letsencrypt ? `certbot:${running.letsencrypt.dir}` : '', running.kubernetes ? `kubernetes:${running.kubernetes.secretDirs.join(',')}` : ''].filter(Boolean).join(' '),
    targets: running.targets.map((target) => target.name).join(','),
    [Field.durationMs]: Date.now() - startedMs,
  });
  return exited;
}
