import { checkFiles } from './check/check-files.js';
import { checkTarget } from './check/check-target.js';
import type { Finding } from './check/finding.js';
import type { Config } from './config/schema.js';
import { RuntimeClient } from './haproxy/runtime-client.js';
import { SocketTransport } from './haproxy/socket-transport.js';
import type { Logger } from './log/create-logger.js';

/** The composition root: the only module that knows every adapter. Building it does no I/O. */
export interface App {
  readonly runtimeClients: ReadonlyMap<string, RuntimeClient>;
  /** Every check `hotcert check-config` reports, in a stable order: files first, then each target. */
  checkConfig(): Promise<Finding[]>;
}

export function createApp(config: Config, log: Logger): App {
  const runtimeClients = new Map(
    config.targets.map((target) => [target.name, new RuntimeClient(target.name, new SocketTransport(target.runtime, target.timeoutMs))]),
  );
  return {
    runtimeClients,
    checkConfig: async () => {
      const findings = await checkFiles(config);
      const perTarget = await Promise.all(
        config.targets.map((target) => checkTarget(target, runtimeClients.get(target.name) as RuntimeClient)),
      );
      for (const finding of [...findings, ...perTarget.flat()]) {
        log.debug('check finished', { subject: finding.subject, outcome: finding.status });
      }
      return [...findings, ...perTarget.flat()];
    },
  };
}
