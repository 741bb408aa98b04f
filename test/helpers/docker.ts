import { ownStateFile } from './hotcert-config.js';
import { execFile } from 'node:child_process';
import { chmod, chown, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { haproxyConfigText } from './haproxy.js';
import { HAPROXY_SOURCES, type HaproxyVersion } from './haproxy-versions.js';
import { packageRoot } from './hotcert-cli.js';
import { runtimeCommand } from './runtime-socket.js';
import { makeTempDir, type TempDir } from './temp-dir.js';
import { waitFor } from './wait-for.js';

const run = promisify(execFile);
/** The repository root, where the Dockerfile is (found from test/ or from a compiled copy in dist-bench/). */
export const REPO_ROOT = packageRoot();
const BUILD_HAPROXY_IMAGE = join(REPO_ROOT, 'test', 'docker', 'build-haproxy-image.sh');

/** Every image and container a test creates carries it; the global teardown removes them all. */
export const TEST_LABEL = 'hotcert.test=1';

/** The docker CLI; stderr is part of the error so that a failed step says why. */
export async function docker(...args: string[]): Promise<string> {
  try {
    return (await run('docker', args, { maxBuffer: 64 * 1024 * 1024 })).stdout;
  } catch (error) {
    const failure = error as { stderr?: string; message: string };
    throw new Error(`docker ${args.slice(0, 3).join(' ')} failed: ${failure.stderr?.trim() || failure.message}`);
  }
}

/** A container's output: stdout and stderr as `docker logs` replays them (hotcert logs to stderr). */
export async function containerLogs(name: string): Promise<string> {
  try {
    const { stdout, stderr } = await run('docker', ['logs', name], { maxBuffer: 64 * 1024 * 1024 });
    return stdout + stderr;
  } catch (error) {
    return (error as Error).message;
  }
}

/** The exec clients an HAProxy image can carry for `exec:` targets. */
export type ExecClient = 'socat' | 'perl';

/** The HAProxy series the container suites run: Debian 12's, and the newest LTS (the official image's `lts` tag). */
export const DOCKER_HAPROXY_VERSIONS = ['2.6', '3.4'] as const satisfies readonly HaproxyVersion[];
export type DockerHaproxyVersion = (typeof DOCKER_HAPROXY_VERSIONS)[number];
/** What a container test runs when it asks for no version: the official image as people pull it now. */
export const DEFAULT_DOCKER_HAPROXY: DockerHaproxyVersion = '3.4';

/**
 * The image variants of each series, the first the default: 2.6 with socat (images built since late 2025) or with
 * perl only; 3.4 in the official layout, whose Debian base has perl-base and no socat.
 */
export const HAPROXY_IMAGE_CLIENTS: Readonly<Record<DockerHaproxyVersion, readonly ExecClient[]>> = {
  '2.6': ['socat', 'perl'],
  '3.4': ['perl'],
};

const imageBuilds = new Map<string, Promise<string>>();

/**
 * The HAProxy test image of a series (the official layout, built from that series' binary on this host, see
 * test/docker/build-haproxy-image.sh), tagged `hotcert-test/haproxy:<version>-<client>`.
 */
export function haproxyImage(version: DockerHaproxyVersion, client: ExecClient = HAPROXY_IMAGE_CLIENTS[version][0] as ExecClient): Promise<string> {
  if (!HAPROXY_IMAGE_CLIENTS[version].includes(client)) {
    return Promise.reject(new Error(`no HAProxy ${version} image with ${client}: its variants are ${HAPROXY_IMAGE_CLIENTS[version].join(', ')}`));
  }
  const tag = `hotcert-test/haproxy:${version}-${client}`;
  let build = imageBuilds.get(tag);
  if (!build) {
    build = (async () => {
      const present = await docker('image', 'inspect', tag).then(
        () => true,
        () => false,
      );
      if (!present) {
        const source = HAPROXY_SOURCES[version];
        if (source.kind !== 'host') throw new Error(`HAProxy ${version} has no binary on this host to build an image from`);
        await run('bash', [BUILD_HAPROXY_IMAGE, tag, source.binary(), client], { maxBuffer: 16 * 1024 * 1024 }).catch((error: { stderr?: string; message: string }) => {
          throw new Error(`building ${tag} failed: ${error.stderr?.trim() || error.message}`);
        });
      }
      return tag;
    })();
    build.catch(() => imageBuilds.delete(tag));
    imageBuilds.set(tag, build);
  }
  return build;
}

/** The version of certbot in the certbot/certbot stand-in (the sid root's). */
export const CERTBOT_IMAGE_VERSION = '5.5';

/**
 * A stand-in for the official certbot/certbot image (ENTRYPOINT certbot), imported from the cached sid root:
 * certbot 5.5, openssl, and pebble 2.10 (see test/docker/build-certbot-image.sh).
 */
export async function certbotImage(): Promise<string> {
  const tag = `hotcert-test/certbot:${CERTBOT_IMAGE_VERSION}`;
  const present = await docker('image', 'inspect', tag).then(
    () => true,
    () => false,
  );
  if (!present) await run('bash', [join(REPO_ROOT, 'test', 'docker', 'build-certbot-image.sh'), tag], { maxBuffer: 16 * 1024 * 1024, timeout: 900_000 });
  return tag;
}

/** uid/gid of `haproxy` in the official image. */
export const HAPROXY_UID = 99;

export interface HaproxyContainerOptions {
  readonly name: string;
  /** The HAProxy series of the image; DEFAULT_DOCKER_HAPROXY when unset. */
  readonly version?: DockerHaproxyVersion;
  /** The image variant; the series' first (HAPROXY_IMAGE_CLIENTS) when unset. */
  readonly client?: ExecClient;
  readonly labels?: readonly string[];
  /** hotcert's directory on the host (bundles and crt-list), mounted read-only at HOTCERT_DIR_IN_CONTAINER. */
  readonly hotcertDir?: string;
  /** Without a stats socket at all (the reload fallback's case). */
  readonly noStatsSocket?: boolean;
  /** A user-defined network to run on instead of the default bridge. */
  readonly network?: string;
}

/** Where the HAProxy containers see hotcert's directory. */
export const HOTCERT_DIR_IN_CONTAINER = '/usr/local/etc/haproxy/hotcert';
/** The TCP stats socket port inside a container. */
export const STATS_PORT = 9999;
/** The TLS frontend port inside a container. */
export const TLS_PORT = 8443;

/**
 * An HAProxy container laid out like the official image, run as `docker run` would: uid 99, `haproxy -W -db`, its
 * config in a mounted directory, its runtime socket in a mounted directory (uid 99 must be able to create it there),
 * a TCP stats socket, and a TLS frontend with `strict-sni` on a crt-list: hotcert's file when `hotcertDir` is
 * given, else an empty list of its own (a runtime-only target).
 */
export interface HaproxyContainer {
  readonly name: string;
  /** The host directory holding `admin.sock` (mounted at /var/run/haproxy). */
  readonly socketDir: string;
  readonly socketPath: string;
  /** The crt-list as HAProxy names it inside the container. */
  readonly crtListInContainer: string;
  address(): Promise<string>;
  command(line: string): Promise<string>;
  /** Waits until its runtime API answers through the shared socket. */
  ready(): Promise<void>;
  remove(): Promise<void>;
}

export async function startHaproxyContainer(options: HaproxyContainerOptions): Promise<HaproxyContainer> {
  const temp: TempDir = await makeTempDir(`container-${options.name}`);
  const confDir = join(temp.path, 'conf');
  const socketDir = join(temp.path, 'run');
  await mkdir(confDir, { recursive: true });
  await mkdir(socketDir, { recursive: true });
  await chown(socketDir, HAPROXY_UID, HAPROXY_UID);
  await chmod(temp.path, 0o755);
  const crtListInContainer = options.hotcertDir ? `${HOTCERT_DIR_IN_CONTAINER}/crt-list.txt` : '/usr/local/etc/haproxy/conf/crt-list.txt';
  await writeFile(join(confDir, 'crt-list.txt'), '');
  await writeFile(
    join(confDir, 'haproxy.cfg'),
    haproxyConfigText(
      options.noStatsSocket ? [] : ['stats socket /var/run/haproxy/admin.sock mode 660 level admin', `stats socket ipv4@0.0.0.0:${STATS_PORT} level admin`],
      `:${TLS_PORT} ssl crt-list ${crtListInContainer} strict-sni`,
    ),
  );
  const image = await haproxyImage(options.version ?? DEFAULT_DOCKER_HAPROXY, options.client);
  await docker(
    'run', '-d', '--name', options.name, '--label', TEST_LABEL,
    ...(options.labels ?? []).flatMap((label) => ['--label', label]),
    ...(options.network ? ['--network', options.network] : []),
    '-v', `${confDir}:/usr/local/etc/haproxy/conf:ro`,
    '-v', `${socketDir}:/var/run/haproxy`,
    ...(options.hotcertDir ? ['-v', `${options.hotcertDir}:${HOTCERT_DIR_IN_CONTAINER}:ro`] : []),
    image, 'haproxy', '-f', '/usr/local/etc/haproxy/conf/haproxy.cfg',
  );
  const socketPath = join(socketDir, 'admin.sock');
  const container: HaproxyContainer = {
    name: options.name,
    socketDir,
    socketPath,
    crtListInContainer,
    address: async () => (await docker('inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', options.name)).trim(),
    command: (line) => runtimeCommand(socketPath, line),
    ready: async () => {
      const check = options.noStatsSocket
        ? async () => (await docker('inspect', '-f', '{{.State.Running}}', options.name)).trim() === 'true'
        : async () => (await runtimeCommand(socketPath, 'show info')).includes('Version:');
      await waitFor(check, { timeoutMs: 20_000, what: `HAProxy in container ${options.name} to answer` });
    },
    remove: async () => {
      await docker('rm', '-f', '-v', options.name).catch(() => undefined);
      await temp.remove();
    },
  };
  await container.ready().catch(async (error: unknown) => {
    const logs = await containerLogs(options.name);
    await container.remove();
    throw new Error(`${(error as Error).message}\n${logs}`);
  });
  return container;
}

/** A config target for one container, with hotcert's paths as the containers name them; `more` goes into `docker:`. */
export function containerTargetLines(name: string, container: string, runtime: string, more: readonly string[] = []): string[] {
  return [
    `  - name: ${name}`,
    `    runtime: ${runtime}`,
    `    docker: { container: ${container}${more.length > 0 ? `, ${more.join(', ')}` : ''} }`,
    `    crtList: ${HOTCERT_DIR_IN_CONTAINER}/crt-list.txt`,
    `    bundlesDir: ${HOTCERT_DIR_IN_CONTAINER}/certs`,
  ];
}

/** A hotcert config for container targets: bundles readable by uid/gid 99 (the official image) in the shared dir. */
export async function writeContainerTargetsConfig(
  file: string,
  letsencryptDir: string,
  shared: { bundlesDir: string; crtListPath: string },
  targetLines: readonly string[],
  extraLines: readonly string[] = [],
): Promise<string> {
  await writeFile(
    file,
    [
      `letsencrypt: { dir: ${letsencryptDir} }`,
      `bundles: { dir: ${shared.bundlesDir}, group: 99, mode: "0640" }`,
      `crtList: { file: ${shared.crtListPath} }`,
      'targets:',
      ...targetLines,
      ...extraLines,
      ...ownStateFile(file, extraLines),
      '',
    ].join('\n'),
  );
  return file;
}

/** hotcert's directory for container targets: crt-list present (HAProxy needs it at start), group 99 may read. */
export async function makeSharedHotcertDir(parent: string): Promise<{ dir: string; bundlesDir: string; crtListPath: string }> {
  const dir = join(parent, 'hotcert');
  await mkdir(dir, { recursive: true });
  await chown(dir, 0, HAPROXY_UID);
  await chmod(dir, 0o750);
  await chmod(parent, 0o755);
  const crtListPath = join(dir, 'crt-list.txt');
  await writeFile(crtListPath, '', { mode: 0o644 });
  return { dir, bundlesDir: join(dir, 'certs'), crtListPath };
}

/**
 * Builds the project's real Dockerfile. Its base image cannot be pulled here: when it is missing, a stand-in built
 * from this host's node and npm takes its name (and is removed with the other test images).
 */
export async function buildSidecarImage(tag: string): Promise<void> {
  const dockerfile = await readFile(join(REPO_ROOT, 'Dockerfile'), 'utf8');
  const base = /^ARG NODE_IMAGE=(\S+)$/m.exec(dockerfile)?.[1];
  if (!base) throw new Error('the Dockerfile names no NODE_IMAGE');
  const present = await docker('image', 'inspect', base).then(
    () => true,
    () => false,
  );
  if (!present) await run('bash', [join(REPO_ROOT, 'test', 'docker', 'build-node-image.sh'), base], { maxBuffer: 16 * 1024 * 1024 });
  await docker('build', '--quiet', '--force-rm', '--label', TEST_LABEL, '-t', tag, REPO_ROOT);
}

/**
 * The image that boots systemd as PID 1, with haproxy, certbot, pebble and Node (cached between runs): Debian 12
 * with this host's Node, or Debian 13 with Debian's own nodejs.
 */
export async function systemdImage(suite: 'bookworm' | 'trixie' = 'bookworm'): Promise<string> {
  const tag = `hotcert-test/systemd:${suite}`;
  const present = await docker('image', 'inspect', tag).then(
    () => true,
    () => false,
  );
  if (!present) await run('bash', [join(REPO_ROOT, 'test', 'docker', 'build-systemd-image.sh'), tag, suite], { maxBuffer: 16 * 1024 * 1024 });
  return tag;
}

/** Runs a bash script in a container; resolves with its exit code and output (never rejects on a non-zero exit). */
export async function dockerExec(container: string, script: string, options: { workdir?: string; timeoutMs?: number } = {}): Promise<{ code: number; output: string }> {
  const args = ['exec', ...(options.workdir ? ['-w', options.workdir] : []), container, 'bash', '-eo', 'pipefail', '-c', script];
  try {
    const { stdout, stderr } = await run('docker', args, { maxBuffer: 64 * 1024 * 1024, timeout: options.timeoutMs ?? 300_000 });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failure = error as { code?: number | string; stdout?: string; stderr?: string; message: string };
    return { code: typeof failure.code === 'number' ? failure.code : -1, output: `${failure.stdout ?? ''}${failure.stderr ?? ''}` || failure.message };
  }
}
