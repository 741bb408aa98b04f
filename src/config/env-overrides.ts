import type { ConfigIssue } from '../errors.js';

/**
 * Environment variables that override single keys of the file. A container or a systemd drop-in can set one value
 * without shipping a whole file. Values are applied as strings and validated by the same schema as the file.
 */
export const ENV_OVERRIDES: readonly { readonly name: string; readonly path: readonly string[] }[] = [
  { name: 'HOTCERT_LETSENCRYPT_DIR', path: ['letsencrypt', 'dir'] },
  { name: 'HOTCERT_BUNDLES_DIR', path: ['bundles', 'dir'] },
  { name: 'HOTCERT_BUNDLES_MODE', path: ['bundles', 'mode'] },
  { name: 'HOTCERT_BUNDLES_OWNER', path: ['bundles', 'owner'] },
  { name: 'HOTCERT_BUNDLES_GROUP', path: ['bundles', 'group'] },
  { name: 'HOTCERT_CRT_LIST_FILE', path: ['crtList', 'file'] },
  { name: 'HOTCERT_LOG_LEVEL', path: ['log', 'level'] },
  { name: 'HOTCERT_LOG_FORMAT', path: ['log', 'format'] },
  { name: 'HOTCERT_METRICS_LISTEN', path: ['metrics', 'listen'] },
  { name: 'HOTCERT_DOCKER_ENDPOINT', path: ['docker', 'endpoint'] },
];

/** Sets the runtime address of the only target (or of the default target when the file names none). */
export const TARGET_RUNTIME_ENV = 'HOTCERT_TARGET_RUNTIME';

export interface EnvApplied {
  /** Key path (`log.level`) → the variable that set it, so a problem with the value names the variable. */
  readonly sources: ReadonlyMap<string, string>;
  readonly issues: readonly ConfigIssue[];
}

/** Writes the overrides into `raw` (the file's plain object) in place. */
export function applyEnvOverrides(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): EnvApplied {
  const sources = new Map<string, string>();
  const issues: ConfigIssue[] = [];
  for (const { name, path } of ENV_OVERRIDES) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    const [section, key] = path as [string, string];
    const current = raw[section];
    if (current !== undefined && (current === null || typeof current !== 'object' || Array.isArray(current))) {
      issues.push({ path: section, message: `must be a mapping (${name} cannot be applied)` });
      continue;
    }
    raw[section] = { ...(current as Record<string, unknown> | undefined), [key]: value };
    sources.set(path.join('.'), name);
  }

  const runtime = env[TARGET_RUNTIME_ENV];
  if (runtime !== undefined && runtime !== '') {
    const targets = raw.targets;
    if (targets === undefined) {
      raw.targets = [{ name: 'local', runtime }];
      sources.set('targets[0].runtime', TARGET_RUNTIME_ENV);
    } else if (Array.isArray(targets) && targets.length === 1 && typeof targets[0] === 'object' && targets[0]) {
      raw.targets = [{ ...(targets[0] as Record<string, unknown>), runtime }];
      sources.set('targets[0].runtime', TARGET_RUNTIME_ENV);
    } else {
      issues.push({
        path: 'targets',
        message: `${TARGET_RUNTIME_ENV} applies only when at most one target is configured`,
      });
    }
  }
  return { sources, issues };
}
