import { PassThrough, type Duplex } from 'node:stream';
import type Docker from 'dockerode';
import { ContainerNotRunningError, DockerError, RuntimeTimeoutError } from '../../errors.js';
import type { RuntimeAddress } from '../../haproxy/runtime-address.js';

/** What hotcert needs to know of a container. */
export interface ContainerInfo {
  readonly id: string;
  /** Without Docker's leading `/`. */
  readonly name: string;
  readonly running: boolean;
  readonly labels: Readonly<Record<string, string>>;
  /** Address per network name (`bridge`, or a user-defined network). */
  readonly addresses: Readonly<Record<string, string>>;
  /** The image's STOPSIGNAL or the container's `--stop-signal`: the signal that is not a reload. */
  readonly stopSignal: string | undefined;
  /** The user the container's processes run as (`haproxy`, `99`, `99:99`; empty for root). */
  readonly user: string;
}

export interface ExecResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A container event, as far as hotcert reads it. */
export interface ContainerEvent {
  readonly action: string;
  readonly id: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** For `kill`: the signal, as Docker reports it (a number such as `12`, or a name). */
  readonly signal: string | undefined;
}

export interface EventSubscription {
  close(): void;
}

/**
 * The Docker Engine API, through dockerode, limited to the endpoints hotcert uses (README, "Docker socket
 * allow-list"): list and inspect containers, events, exec, kill. Errors carry the container and the cause.
 */
export class DockerApi {
  private client: Promise<Docker> | undefined;
  readonly endpoint: string;

  constructor(private readonly address: RuntimeAddress) {
    this.endpoint = address.kind === 'unix' ? `unix:${address.path}` : `tcp:${address.host}:${address.port}`;
  }

  /** Running containers carrying a label (`key` or `key=value`). */
  async listByLabel(label: string): Promise<ContainerInfo[]> {
    const found = await this.call(`list containers labelled ${label}`, {}, (docker) =>
      docker.listContainers({ filters: { label: [label], status: ['running'] } }),
    );
    // A container removed between the list and its inspect is simply not a target any more.
    const infos = await Promise.all(found.map((entry) => this.inspect(entry.Id).catch(() => undefined)));
    return infos.filter((info): info is ContainerInfo => info !== undefined && info.running);
  }

  /** @throws DockerError with code DOCKER_FAILED when there is no such container or Docker cannot be asked. */
  async inspect(nameOrId: string): Promise<ContainerInfo> {
    const info = await this.call(`inspect container ${nameOrId}`, { container: nameOrId }, (docker) => docker.getContainer(nameOrId).inspect());
    const addresses: Record<string, string> = {};
    for (const [network, settings] of Object.entries(info.NetworkSettings?.Networks ?? {})) {
      if (settings?.IPAddress) addresses[network] = settings.IPAddress;
    }
    return {
      id: info.Id,
      name: info.Name.replace(/^\//, ''),
      running: info.State?.Running === true,
      labels: info.Config?.Labels ?? {},
      addresses,
      stopSignal: (info.Config as { StopSignal?: string } | undefined)?.StopSignal || undefined,
      user: info.Config?.User ?? '',
    };
  }

  /** @throws ContainerNotRunningError when it exists but is stopped. */
  async running(nameOrId: string): Promise<ContainerInfo> {
    const info = await this.inspect(nameOrId);
    if (!info.running) throw new ContainerNotRunningError(`container ${info.name} is not running`, { container: info.name });
    return info;
  }

  /**
   * Runs `command` in the container as its own user, writes `stdin` and closes it, and returns both streams and
   * the exit code, read by inspecting the exec.
   * @throws RuntimeTimeoutError when it does not finish within `timeoutMs` (what ran inside is not stopped).
   */
  async exec(containerId: string, command: readonly string[], stdin: string, timeoutMs: number): Promise<ExecResult> {
    const subject = { container: containerId };
    const started = Date.now();
    const { exec, stream, stdout: out, stderr: err } = await this.startExec(containerId, command);
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    out.on('data', (chunk: Buffer) => stdout.push(chunk));
    err.on('data', (chunk: Buffer) => stderr.push(chunk));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        stream.destroy();
        reject(new RuntimeTimeoutError(`exec of ${command[0] ?? ''} in container ${containerId} did not finish within ${timeoutMs} ms`, subject));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      stream.once('end', done);
      stream.once('close', done);
      stream.once('error', (error) => {
        clearTimeout(timer);
        reject(new DockerError(`exec in container ${containerId} broke off`, subject, { cause: error }));
      });
      stream.end(stdin);
    });
    // The stream can end a moment before Docker records the exit code.
    for (;;) {
      const state = await this.call(`inspect exec in ${containerId}`, subject, () => exec.inspect());
      if (!state.Running && state.ExitCode !== null) {
        return { exitCode: state.ExitCode, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') };
      }
      if (Date.now() - started > timeoutMs) {
        throw new RuntimeTimeoutError(`exec of ${command[0] ?? ''} in container ${containerId} did not exit within ${timeoutMs} ms`, subject);
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /**
   * Starts `command` in the container with stdin attached and leaves it running: `stream` takes what is written to
   * its stdin (and ends when the process does), `stdout` and `stderr` carry its demultiplexed output.
   */
  async attach(containerId: string, command: readonly string[]): Promise<{ stream: Duplex; stdout: PassThrough; stderr: PassThrough }> {
    const { stream, stdout, stderr } = await this.startExec(containerId, command);
    return { stream, stdout, stderr };
  }

  // Without a TTY Docker multiplexes stdout and stderr in 8-byte-header frames (Engine API, "Attach to a
  // container"): the hijacked stream is demultiplexed into two.
  private async startExec(containerId: string, command: readonly string[]) {
    const subject = { container: containerId };
    const exec = await this.call(`exec ${command[0] ?? ''} in ${containerId}`, subject, (docker) =>
      docker.getContainer(containerId).exec({ Cmd: [...command], AttachStdin: true, AttachStdout: true, AttachStderr: true, Tty: false }),
    );
    const stream = (await this.call(`start exec in ${containerId}`, subject, () => exec.start({ hijack: true, stdin: true }))) as Duplex;
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    (await this.docker()).modem.demuxStream(stream, stdout, stderr);
    return { exec, stream, stdout, stderr };
  }

  async kill(containerId: string, signal: string): Promise<void> {
    await this.call(`send ${signal} to container ${containerId}`, { container: containerId }, (docker) => docker.getContainer(containerId).kill({ signal }));
  }

  /**
   * Container events (start, die, kill, ...) as they happen. `onError` is called once when the stream breaks; the
   * caller decides when to subscribe again (and should then resync, since events were missed).
   */
  async subscribe(onEvent: (event: ContainerEvent) => void, onError: (error: Error) => void): Promise<EventSubscription> {
    const stream = (await this.call('subscribe to container events', {}, (docker) =>
      docker.getEvents({ filters: { type: ['container'], event: ['start', 'die', 'kill', 'restart', 'destroy'] } }),
    )) as NodeJS.ReadableStream & { destroy(): void };
    let buffer = '';
    let closed = false;
    const fail = (error: Error): void => {
      if (closed) return;
      closed = true;
      onError(error);
    };
    stream.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      for (let end = buffer.indexOf('\n'); end >= 0; end = buffer.indexOf('\n')) {
        const line = buffer.slice(0, end).trim();
        buffer = buffer.slice(end + 1);
        if (line === '') continue;
        let event: ContainerEvent;
        try {
          event = parseEvent(line);
        } catch {
          // The Engine API sends one JSON object per line; a line that is not one carries nothing to act on.
          continue;
        }
        onEvent(event);
      }
    });
    stream.on('error', (error: Error) => fail(new DockerError('the Docker event stream broke off', {}, { cause: error })));
    stream.on('end', () => fail(new DockerError('the Docker event stream ended', {})));
    return {
      close: () => {
        closed = true;
        stream.destroy();
      },
    };
  }

  // Loaded at the first request: dockerode and what it requires took a tenth of a second to load, paid by every
  // `hotcert sync` and `hotcert status` on a host without containers.
  private docker(): Promise<Docker> {
    const address = this.address;
    return (this.client ??= import('dockerode').then(({ default: Docker }) =>
      address.kind === 'unix' ? new Docker({ socketPath: address.path }) : new Docker({ host: address.host, port: address.port, protocol: 'http' }),
    ));
  }

  private async call<T>(what: string, subject: Record<string, string>, request: (docker: Docker) => Promise<T>): Promise<T> {
    try {
      return await request(await this.docker());
    } catch (error) {
      throw new DockerError(`Docker API ${this.endpoint}: cannot ${what}: ${describeDockerFailure(error)}`, subject, { cause: error });
    }
  }
}

/** What an exec'd command said about a failure, in one line: its stderr's first line, else its stdout's. */
export function execMessage(output: { readonly stdout: string; readonly stderr: string }): string {
  return (output.stderr || output.stdout).trim().split('\n')[0]?.slice(0, 200) ?? '';
}

function parseEvent(line: string): ContainerEvent {
  const raw = JSON.parse(line) as { Action?: string; status?: string; id?: string; Actor?: { ID?: string; Attributes?: Record<string, string> } };
  const attributes = raw.Actor?.Attributes ?? {};
  const { name = '', signal, image: _image, exitCode: _exitCode, ...labels } = attributes;
  return { action: raw.Action ?? raw.status ?? '', id: raw.Actor?.ID ?? raw.id ?? '', name, labels, signal };
}

function describeDockerFailure(error: unknown): string {
  const failure = error as { statusCode?: number; json?: { message?: string }; code?: string; message?: string };
  if (failure.statusCode !== undefined) return `${failure.statusCode} ${failure.json?.message ?? failure.message ?? ''}`.trim();
  if (failure.code === 'ENOENT') return 'no Docker socket there (is dockerd running?)';
  if (failure.code === 'EACCES') return 'permission denied on the Docker socket (hotcert needs its group, usually "docker")';
  if (failure.code === 'ECONNREFUSED') return 'connection refused';
  return failure.code ?? failure.message ?? String(error);
}
