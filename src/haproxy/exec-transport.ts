import { DockerError, RuntimeConnectionClosedError, RuntimeTransportError } from '../errors.js';
import { firstCloseOnly, type RuntimeChannel } from './runtime-channel.js';
import { frameRequest, PROMPT, unframePromptReply, unframeReply } from './runtime-framing.js';
import type { RuntimeRequest, RuntimeTransport } from './runtime-transport.js';
import { execMessage, type DockerApi, type ExecResult } from '../platform/docker/docker-api.js';

// The official haproxy image has no socat; its Debian variant has perl-base (Essential). This relay does what
// `socat stdio unix-connect:PATH` does, both ways at once: stdin to the socket (half-closing it at stdin's end),
// the socket to stdout, until HAProxy closes. So it serves one request as well as a whole prompt-mode session.
const PERL_RELAY = [
  'use IO::Socket::UNIX; use IO::Select;',
  'my $s = IO::Socket::UNIX->new(Peer => shift) or die "connect: $!\\n";',
  'my $sel = IO::Select->new(\\*STDIN, $s);',
  'while (my @ready = $sel->can_read) { for my $h (@ready) {',
  '  my $n = sysread($h, my $buf, 65536);',
  '  if ($h == $s) { exit 0 unless $n; syswrite(STDOUT, $buf); }',
  '  elsif ($n) { syswrite($s, $buf); }',
  '  else { shutdown($s, 1); $sel->remove(\\*STDIN); }',
  '} }',
].join(' ');

type ClientKind = 'socat' | 'perl';

/**
 * The runtime API of a container reached by `docker exec` of a small client inside it: socat where the image has
 * it, else perl. One request is one exec (about 60 ms); a prompt-mode session (see `openChannel`) keeps one exec
 * running for a burst of commands. This is the last resort after a shared socket or a TCP socket.
 */
export class ExecTransport implements RuntimeTransport {
  readonly address: string;
  /** Which client works, per container id (a recreated container may come from another image). */
  private readonly clients = new Map<string, ClientKind>();

  constructor(
    private readonly docker: DockerApi,
    private readonly container: string,
    private readonly socketPath: string,
    private readonly timeoutMs: number,
  ) {
    this.address = `exec:${container}:${socketPath}`;
  }

  async send(request: RuntimeRequest): Promise<string> {
    return unframeReply(await this.run(frameRequest(request)));
  }

  // Without prompt mode the replies run together; `prompt` first makes HAProxy end each reply with a prompt, so
  // one exec carries the whole batch, one request per line (see RuntimeTransport.sendBatch).
  async sendBatch(requests: readonly RuntimeRequest[]): Promise<string[]> {
    if (requests.length === 0) return [];
    const output = await this.run(`prompt\n${requests.map(frameRequest).join('')}`);
    const replies = output.split(PROMPT).slice(1, requests.length + 1).map(unframePromptReply);
    if (replies.length !== requests.length) {
      throw new RuntimeConnectionClosedError(`runtime API ${this.address} answered ${replies.length} of ${requests.length} commands`, { runtime: this.address });
    }
    return replies;
  }

  /** A client left running in the container, its stdin and stdout a stream to HAProxy's socket, for a session. */
  async openChannel(): Promise<RuntimeChannel> {
    const id = await this.containerId();
    // The client is found by a one-shot request first: a missing binary shows only in an exec's exit code.
    if (!this.clients.has(id)) await this.send({ line: 'show info' });
    const kind = this.clients.get(id) ?? 'socat';
    const attached = await this.docker.attach(id, this.command(kind)).catch((error: unknown) => {
      throw this.unreachable(error);
    });
    const { stream, stdout, stderr } = attached;
    let errorText = '';
    stderr.on('data', (chunk: Buffer) => (errorText += chunk.toString('utf8')));
    return {
      write: (text) => stream.write(text),
      close: () => stream.destroy(),
      listen: (onData, onClosed) => {
        const closeWith = firstCloseOnly(onClosed);
        stdout.on('data', (chunk: Buffer) => onData(chunk.toString('utf8')));
        const ended = (): void =>
          closeWith(
            new RuntimeConnectionClosedError(`runtime API ${this.address} closed the connection${errorText ? `: ${execMessage({ stdout: '', stderr: errorText })}` : ''}`, {
              runtime: this.address,
            }),
          );
        stream.once('end', ended);
        stream.once('close', ended);
        stream.once('error', (error: Error) => closeWith(new RuntimeConnectionClosedError(`runtime API ${this.address}: the exec stream broke (${error.message})`, { runtime: this.address }, { cause: error })));
      },
    };
  }

  private async containerId(): Promise<string> {
    try {
      return (await this.docker.running(this.container)).id;
    } catch (error) {
      throw this.unreachable(error);
    }
  }

  private async run(stdin: string): Promise<string> {
    const id = await this.containerId();
    const known = this.clients.get(id);
    let result = await this.exec(id, known ?? 'socat', stdin);
    if (!known && clientMissing(result)) {
      result = await this.exec(id, 'perl', stdin);
      if (clientMissing(result)) {
        throw new RuntimeTransportError(
          `cannot reach runtime API ${this.address}: the container has neither socat nor perl; share HAProxy's socket through a volume (runtime: unix:...) or use a TCP stats socket (runtime: container-tcp:PORT)`,
          { runtime: this.address, container: this.container },
        );
      }
    }
    if (result.exitCode !== 0) {
      throw new RuntimeTransportError(
        `cannot reach runtime API ${this.address}: the client in the container exited with ${result.exitCode}: ${execMessage(result)}`,
        { runtime: this.address, container: this.container },
      );
    }
    if (!known) this.clients.set(id, result.kind);
    return result.stdout;
  }

  private command(kind: ClientKind): string[] {
    const timeoutSec = Math.max(1, Math.ceil(this.timeoutMs / 1000));
    return kind === 'socat' ? ['socat', '-t', String(timeoutSec), 'stdio', `unix-connect:${this.socketPath}`] : ['perl', '-e', PERL_RELAY, this.socketPath];
  }

  private async exec(id: string, kind: ClientKind, stdin: string): Promise<ExecResult & { kind: ClientKind }> {
    try {
      return { ...(await this.docker.exec(id, this.command(kind), stdin, this.timeoutMs)), kind };
    } catch (error) {
      throw this.unreachable(error);
    }
  }

  private unreachable(error: unknown): Error {
    if (!(error instanceof DockerError)) return error as Error;
    return new RuntimeTransportError(`cannot reach runtime API ${this.address}: ${error.message}`, { runtime: this.address }, { cause: error });
  }
}

// A missing binary is not an API error: runc's message arrives on the output stream with exit code 126 or 127.
function clientMissing(result: ExecResult): boolean {
  return (result.exitCode === 126 || result.exitCode === 127) && /executable file not found|no such file or directory|not found/i.test(result.stdout + result.stderr);
}
