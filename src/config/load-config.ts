import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError, ConfigFileUnreadableError, type ConfigIssue } from '../errors.js';
import { applyEnvOverrides } from './env-overrides.js';
import { completeConfig, configSchema, type Config } from './schema.js';

export const DEFAULT_CONFIG_FILE = '/etc/hotcert/hotcert.yaml';

export interface ConfigSource {
  /** The file named with `--config` (or HOTCERT_CONFIG); undefined means the default path. */
  readonly file?: string;
  readonly env: NodeJS.ProcessEnv;
}

export interface LoadedConfig {
  readonly config: Config;
  /** The file the config came from, or undefined when the default file does not exist and defaults apply. */
  readonly file: string | undefined;
}

/**
 * Reads the YAML file, applies the environment overrides and validates the result.
 * A missing default file means "all defaults"; a missing file that was named explicitly is an error.
 * @throws ConfigError listing every problem with its key path, before anything starts.
 */
export async function loadConfig(source: ConfigSource): Promise<LoadedConfig> {
  const explicit = source.file ?? source.env.HOTCERT_CONFIG;
  const file = explicit ?? DEFAULT_CONFIG_FILE;
  let text: string | undefined;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (!(code === 'ENOENT' && explicit === undefined)) {
      const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(code);
      throw new ConfigFileUnreadableError(file, [{ path: '(file)', message: `cannot read ${file}: ${reason}` }], { cause: error });
    }
  }
  const config = parseConfigText(text ?? '', text === undefined ? 'defaults' : file, source.env);
  return { config, file: text === undefined ? undefined : file };
}

/** Validates config text (YAML); exported for tests of the rules. */
export function parseConfigText(text: string, sourceName: string, env: NodeJS.ProcessEnv): Config {
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    throw new ConfigError(
      sourceName,
      document.errors.map((error) => ({ path: '(yaml)', message: error.message.replace(/:?\n[\s\S]*$/, '') })),
    );
  }
  const root: unknown = document.toJS() ?? {};
  if (typeof root !== 'object' || root === null || Array.isArray(root)) {
    throw new ConfigError(sourceName, [{ path: '(root)', message: 'must be a mapping of keys to values' }]);
  }
  const raw = root as Record<string, unknown>;
  const applied = applyEnvOverrides(raw, env);
  const result = configSchema.safeParse(raw);
  const issues = [
    ...applied.issues,
    ...(result.success ? [] : result.error.issues.flatMap(toConfigIssues)),
    ...duplicateTargetNames(raw.targets),
  ].map(
    (issue) => {
      const variable = applied.sources.get(issue.path);
      return variable ? { path: `${issue.path} (from ${variable})`, message: issue.message } : issue;
    },
  );
  if (issues.length > 0 || !result.success) throw new ConfigError(sourceName, issues);
  const config = completeConfig(result.data);
  const sharedNames = sharedFileNamingIssues(config);
  if (sharedNames.length > 0) throw new ConfigError(sourceName, sharedNames);
  return config;
}

// Every target that reads hotcert's files reads the one crt-list file, whose lines name the bundles: they must all
// name the bundles dir the same way.
function sharedFileNamingIssues(config: Config): ConfigIssue[] {
  const readers = config.targets.map((target, index) => ({ target, index })).filter(({ target }) => !target.runtimeOnly);
  const first = readers[0];
  if (!first) return [];
  return readers
    .filter(({ target }) => target.bundlesDir !== first.target.bundlesDir)
    .map(({ target, index }) => ({
      path: `targets[${index}].bundlesDir`,
      message: `is ${target.bundlesDir} but targets[${first.index}] names it ${first.target.bundlesDir}: targets that share the crt-list file must name the bundles dir alike`,
    }));
}

// Checked on the raw input so that it is reported together with every other problem.
function duplicateTargetNames(targets: unknown): ConfigIssue[] {
  if (!Array.isArray(targets)) return [];
  const firstIndex = new Map<unknown, number>();
  const issues: ConfigIssue[] = [];
  targets.forEach((entry: unknown, index) => {
    const name = typeof entry === 'object' && entry !== null ? (entry as { name?: unknown }).name : undefined;
    if (typeof name !== 'string') return;
    const first = firstIndex.get(name);
    if (first === undefined) firstIndex.set(name, index);
    else issues.push({ path: `targets[${index}].name`, message: `"${name}" is already used by targets[${first}]` });
  });
  return issues;
}

function toConfigIssues(issue: z.core.$ZodIssue): ConfigIssue[] {
  const path = formatPath(issue.path);
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({ path: formatPath([...issue.path, key]), message: 'unknown key' }));
  }
  return [{ path: path === '' ? '(root)' : path, message: issueMessage(issue) }];
}

// zod's own words ("Too small: expected number to be >=0") are rewritten in an operator's; a message the schema
// gives itself (a regex's, a refinement's) is kept as it is.
const ZOD_DEFAULT = /^(Too small|Too big|Invalid input|Invalid option):/;

function issueMessage(issue: z.core.$ZodIssue): string {
  if (!ZOD_DEFAULT.test(issue.message)) return issue.message;
  switch (issue.code) {
    case 'too_small':
      if (issue.origin === 'array') return `needs at least ${issue.minimum} entr${Number(issue.minimum) === 1 ? 'y' : 'ies'}`;
      return issue.inclusive ? `must be at least ${issue.minimum}` : `must be more than ${issue.minimum}`;
    case 'too_big':
      if (issue.origin === 'array') return `takes at most ${issue.maximum} entries`;
      return issue.inclusive ? `must be at most ${issue.maximum}` : `must be less than ${issue.maximum}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map((value) => String(value)).join(', ')}`;
    case 'invalid_type': {
      if (/received undefined$/.test(issue.message)) return 'is required';
      const words: Record<string, string> = { number: 'a number', int: 'a whole number', string: 'text', boolean: 'true or false', array: 'a list', object: 'a mapping of keys to values' };
      return `must be ${words[issue.expected] ?? issue.expected}`;
    }
    default:
      return issue.message.replace(ZOD_DEFAULT, '').trim();
  }
}

function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((part, index) => (typeof part === 'number' ? `[${part}]` : index === 0 ? String(part) : `.${String(part)}`))
    .join('');
}
