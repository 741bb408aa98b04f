import { z } from 'zod';
import { parseRuntimeAddress, type RuntimeAddress } from '../haproxy/runtime-address.js';
import { parseTargetRuntime, type TargetRuntime } from './target-runtime.js';

// HAProxy's CLI splits commands on `;` and arguments on spaces, and hotcert puts these names into commands:
// only a strict allowlist may reach the admin socket.
const SAFE_NAME = /^[A-Za-z0-9._-]+$/;
const SAFE_PATH = /^\/[A-Za-z0-9._\/-]*$/;

const absolutePath = z
  .string()
  .regex(SAFE_PATH, 'must be an absolute path made of letters, digits, ".", "_", "-" and "/"');

// YAML 1.2 reads an unquoted 0600 as the decimal number 600, so a mode must be a quoted string.
const octalMode = z
  .string({ error: 'must be an octal mode as a quoted string, such as "0600" (YAML reads an unquoted 0600 as 600)' })
  .regex(/^0?[0-7]{3}$/, 'must be an octal mode as a string, such as "0600" or "0640"')
  .transform((text) => parseInt(text, 8));

const ownerName = z.union([
  z.number().int().min(0),
  z.string().regex(/^([a-z_][a-z0-9_-]*\$?|\d+)$/, 'must be a user or group name, or a numeric id'),
]);

const runtimeAddress = z.string().transform((text, context): RuntimeAddress => {
  try {
    return parseRuntimeAddress(text);
  } catch (error) {
    context.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
});

const targetRuntime = z.string().transform((text, context): TargetRuntime => {
  try {
    return parseTargetRuntime(text);
  } catch (error) {
    context.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
});

// Docker's own rule for container names (daemon/names.go: [a-zA-Z0-9][a-zA-Z0-9_.-]+).
const CONTAINER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

const dockerTarget = z
  .strictObject({
    container: z.string().regex(CONTAINER_NAME, 'must be a container name or id').optional(),
    // `key` or `key=value`, as `docker ps --filter label=` takes it.
    label: z.string().regex(/^[A-Za-z0-9._\/-]+(=[A-Za-z0-9._\/:@-]*)?$/, 'must be a label as KEY or KEY=VALUE').optional(),
    // The network whose address `container-tcp:` connects to; by default the container's only (or first) one.
    network: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'must be a Docker network name').optional(),
    // When the runtime API cannot be used: write the files and send the container its reload signal, then check
    // the served certificate with a TLS handshake on the container's address at `tlsPort`.
    reloadFallback: z
      .strictObject({
        signal: z.enum(['SIGUSR2', 'SIGHUP']).default('SIGUSR2'),
        tlsPort: z.number().int().min(1).max(65535),
        timeoutMs: z.number().int().min(1000).max(600_000).default(30_000),
      })
      .optional(),
  })
  .superRefine((docker, context) => {
    if ((docker.container === undefined) === (docker.label === undefined)) {
      context.addIssue({ code: 'custom', message: 'needs exactly one of "container" (one container by name) and "label" (every running container carrying it)' });
    }
  });

const target = z.strictObject({
  name: z.string().regex(SAFE_NAME, 'must be made of letters, digits, ".", "_" and "-"'),
  runtime: targetRuntime,
  docker: dockerTarget.optional(),
  crtList: absolutePath.optional(),
  bundlesDir: absolutePath.optional(),
  timeoutMs: z.number().int().min(100).max(600_000).default(10_000),
  // HAProxy 2.6 to 3.3 take a whole command with its payload in one tune.bufsize buffer (16384 by default); a
  // command of exactly 16384 bytes crashed 2.6.12, so the default stays 512 bytes below.
  maxCommandBytes: z.number().int().min(4096).max(1_048_576).default(15_872),
  // HAProxy on another host cannot read hotcert's files: swaps there are lost at its next reload.
  runtimeOnly: z.boolean().default(false),
});

type ParsedTarget = z.output<typeof target>;

// Rules between a target's keys, reported at the key that has to change.
function checkTargetShape(entry: ParsedTarget, context: z.RefinementCtx): void {
  const runtime = entry.runtime;
  if ((runtime.kind === 'container-tcp' || runtime.kind === 'exec') && !entry.docker) {
    context.addIssue({ code: 'custom', path: ['runtime'], message: `${runtime.kind}: needs a "docker" section naming the container` });
  }
  if (entry.docker?.label !== undefined && runtime.kind === 'unix' && !runtime.path.includes('{container}')) {
    context.addIssue({
      code: 'custom',
      path: ['runtime'],
      message: 'with docker.label every container needs its own socket: put "{container}" in the path (unix:/srv/haproxy/{container}/admin.sock)',
    });
  }
  if (entry.docker?.reloadFallback !== undefined && entry.runtimeOnly) {
    context.addIssue({ code: 'custom', path: ['docker', 'reloadFallback'], message: 'cannot work with runtimeOnly: a reload loads the files, which this HAProxy cannot read' });
  }
  if (entry.docker?.label !== undefined && runtime.kind === 'tcp') {
    context.addIssue({ code: 'custom', path: ['runtime'], message: 'with docker.label use container-tcp:PORT (each container\'s own address), not one tcp: address' });
  }
}

const lineageOptions = z.strictObject({
  sslOptions: z
    .string()
    .regex(/^[A-Za-z0-9 ._:,\/=+-]*$/, 'must be crt-list SSL options (letters, digits, spaces and ._:,/=+-), without brackets')
    .optional(),
  sniFilters: z.array(z.string().regex(/^!?[A-Za-z0-9*._-]+$/, 'must be an SNI filter such as example.com, *.example.com or !admin.example.com')).default([]),
});

export const configSchema = z.strictObject({
    // Optional when another source is configured: a Kubernetes pod has no Certbot.
    letsencrypt: z.strictObject({ dir: absolutePath.default('/etc/letsencrypt') }).optional(),
    kubernetes: z
      .strictObject({
        // Directories of mounted kubernetes.io/tls Secrets: one volume per subdirectory, or one projected volume.
        secretDirs: z.array(absolutePath).min(1, 'needs at least one directory'),
      })
      .optional(),
    bundles: z
      .strictObject({
        dir: absolutePath.default('/etc/haproxy/hotcert/certs'),
        mode: octalMode.default(0o600),
        owner: ownerName.optional(),
        group: ownerName.optional(),
      })
      .prefault({}),
    crtList: z.strictObject({ file: absolutePath.default('/etc/haproxy/hotcert/crt-list.txt') }).prefault({}),
    docker: z
      .strictObject({
        // The Docker Engine API: a unix socket, or a socket proxy's tcp:HOST:PORT (README, "Docker socket allow-list").
        endpoint: runtimeAddress.default(parseRuntimeAddress('unix:/var/run/docker.sock')),
      })
      .prefault({}),
    targets: z
      .array(target.superRefine(checkTargetShape))
      .min(1, 'needs at least one target')
      .default([
        {
          name: 'local',
          runtime: parseRuntimeAddress('unix:/run/haproxy/admin.sock'),
          timeoutMs: 10_000,
          maxCommandBytes: 15_872,
          runtimeOnly: false,
        },
      ]),
    lineages: z
      .record(z.string().regex(/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/, 'must be a lineage name'), lineageOptions)
      .default({}),
    deploy: z
      .strictObject({
        // A transaction another client left open is aborted only when it is still there, unchanged, this long after.
        staleTransactionMs: z.number().int().min(1000).max(600_000).default(5000),
        // hotcert run: take a lineage removed with `certbot delete` out of every HAProxy too (off: report it and
        // leave it served). Never the default certificate of a bind: HAProxy refuses that.
        removeDeleted: z.boolean().default(false),
        // How far in the future a certificate's notBefore may lie (the CA's clock and this host's differ a little);
        // beyond it the certificate is refused as not yet valid.
        clockSkewMs: z.number().int().min(0).max(86_400_000).default(300_000),
        // The smallest RSA key deployed: HAProxy's OpenSSL refuses smaller ones at its default security level.
        minRsaBits: z.number().int().min(1024).max(16_384).default(2048),
      })
      .prefault({}),
    watch: z
      .strictObject({
        // Certbot writes a whole lineage within about 50 ms; the consistency check guards correctness, so a short
        // quiet window is enough, and the max wait bounds how long a stream of events can postpone a deploy.
        settleMs: z.number().int().min(0).max(60_000).default(150),
        maxWaitMs: z.number().int().min(100).max(600_000).default(2000),
        // A lineage still not ready this long after it changed is logged as an error (and still retried).
        notReadyAlertMs: z.number().int().min(1000).max(86_400_000).default(60_000),
        // A full rescan of every lineage on every target, for what no event reported.
        rescanIntervalMs: z.number().int().min(10_000).max(604_800_000).default(3_600_000),
        // How often each target is asked whether it is up and which HAProxy process serves (reloads, restarts).
        targetCheckIntervalMs: z.number().int().min(100).max(3_600_000).default(5000),
        // While the kernel refuses file watches (fs.inotify limits), how often every certificate is looked at.
        pollMs: z.number().int().min(1000).max(3_600_000).default(10_000),
      })
      .prefault({}),
    state: z.strictObject({ file: absolutePath.default('/var/lib/hotcert/state.json') }).prefault({}),
    metrics: z
      .strictObject({
        // host:port for Prometheus metrics and /healthz; empty: off.
        listen: z
          .string()
          .regex(/^$|^(\[[0-9A-Fa-f:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'must be HOST:PORT (e.g. 127.0.0.1:9639), or empty to turn metrics off')
          .default(''),
      })
      .prefault({}),
    status: z
      .strictObject({
        // hotcert status (WARNING) and the daemon's log (a warning a day) when a served certificate expires within
        // this many days; CRITICAL and an error within criticalDays.
        warnDays: z.number().int().min(0).max(365).default(14),
        criticalDays: z.number().int().min(0).max(365).default(7),
      })
      .prefault({}),
    log: z
      .strictObject({
        level: z.enum(['error', 'warn', 'info', 'debug']).default('info'),
        format: z.enum(['auto', 'journald', 'json', 'text']).default('auto'),
      })
      .prefault({}),
  });

type ParsedConfig = z.output<typeof configSchema>;

/** A target that is a container (or, in the configuration, every container carrying a label). */
export interface DockerTargetConfig {
  readonly container?: string;
  readonly label?: string;
  readonly network?: string;
  readonly reloadFallback?: { readonly signal: 'SIGUSR2' | 'SIGHUP'; readonly tlsPort: number; readonly timeoutMs: number };
}

export interface TargetConfig {
  readonly name: string;
  readonly runtime: TargetRuntime;
  readonly docker?: DockerTargetConfig;
  /** The crt-list file as HAProxy names it (inside a container it differs from `crtList.file`). */
  readonly crtList: string;
  /** The bundles directory as HAProxy names it. */
  readonly bundlesDir: string;
  readonly timeoutMs: number;
  readonly maxCommandBytes: number;
  readonly runtimeOnly: boolean;
}

/** How a lineage's crt-list line looks besides its path: none of either by default. */
export interface LineageOptions {
  readonly sslOptions?: string;
  readonly sniFilters: readonly string[];
}

/** The validated, frozen configuration every component receives; there is no global copy of it. */
export interface Config {
  /** Certbot's config dir; undefined when only another source is configured. */
  readonly letsencrypt: { readonly dir: string } | undefined;
  readonly kubernetes: { readonly secretDirs: readonly string[] } | undefined;
  readonly bundles: {
    readonly dir: string;
    readonly mode: number;
    readonly owner?: string | number;
    readonly group?: string | number;
  };
  readonly crtList: { readonly file: string };
  readonly docker: { readonly endpoint: RuntimeAddress };
  readonly targets: readonly TargetConfig[];
  readonly lineages: Readonly<Record<string, LineageOptions>>;
  readonly deploy: { readonly staleTransactionMs: number; readonly removeDeleted: boolean; readonly clockSkewMs: number; readonly minRsaBits: number };
  readonly watch: {
    readonly settleMs: number;
    readonly maxWaitMs: number;
    readonly notReadyAlertMs: number;
    readonly rescanIntervalMs: number;
    readonly targetCheckIntervalMs: number;
    readonly pollMs: number;
  };
  readonly state: { readonly file: string };
  readonly status: { readonly warnDays: number; readonly criticalDays: number };
  readonly metrics: { readonly listen: string };
  readonly log: { readonly level: LogLevel; readonly format: LogFormat };
}

export type LogLevel = ParsedConfig['log']['level'];
export type LogFormat = ParsedConfig['log']['format'];

/** Fills what each target inherits (its crt-list and bundles dir default to hotcert's own paths). */
export function completeConfig(parsed: ParsedConfig): Config {
  return deepFreeze({
    ...parsed,
    // Certbot is the default source, unless the file names only another one.
    letsencrypt: parsed.letsencrypt ?? (parsed.kubernetes ? undefined : { dir: '/etc/letsencrypt' }),
    kubernetes: parsed.kubernetes,
    targets: parsed.targets.map((entry) => ({
      name: entry.name,
      runtime: entry.runtime,
      ...(entry.docker ? { docker: entry.docker } : {}),
      crtList: entry.crtList ?? parsed.crtList.file,
      bundlesDir: entry.bundlesDir ?? parsed.bundles.dir,
      timeoutMs: entry.timeoutMs,
      maxCommandBytes: entry.maxCommandBytes,
      runtimeOnly: entry.runtimeOnly,
    })),
  });
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
