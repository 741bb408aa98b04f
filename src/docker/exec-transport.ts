import { DockerError, RuntimeTransportError } from '../errors.js';
import { frameRequest, unframeReply } from '../haproxy/runtime-framing.js';
import type { RuntimeRequest, RuntimeTransport } from '../haproxy/runtime-transport.js';
import type { DockerApi, ExecResult } from './docker-api.js';

// The official haproxy image has no socat; its Debian variant has perl-base (Essential), whose IO::Socket::UNIX
// does what socat does: stdin to the socket, half-close, the reply to stdout.
const PERL_CLIENT =
  'use IO::Socket::UNIX; my $s = IO::Socket::UNIX->new(Peer => shift) or die "connect: $!\\n"; ' +
  'local $/; my $in = <STDIN>; print $s $in; shutdown($s, 1); print while <$s>;';

type ClientKind = 'socat' | 'perl';

const PROMPT = '\n> ';

/**
 * The runtime API of a container reached by `docker exec` of a small client inside it: socat where the image has
 * it, else perl. Each request is one exec (about 100 ms), so this is the last resort after a shared socket or a
 * TCP socket. HAProxy answers an exec'd client as any other: the reply text is parsed the same way.
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

  // Without prompt mode the replies of a `;` chain run together; `prompt` first makes HAProxy end each reply with
  // a prompt, so one exec carries the whole batch.
  async sendBatch(lines: readonly string[]): Promise<string[]> {
    if (lines.length === 0) return [];
    for (const line of lines) frameRequest({ line });
    const output = await this.run(`prompt;${lines.join(';')}\n`);
    const replies = output.split(PROMPT).slice(1, lines.length + 1).map((reply) => reply.replace(/\n+$/, ''));
    if (replies.length !== lines.length) {
      throw new RuntimeTransportError(`runtime API ${this.address} answered ${replies.length} of ${lines.length} commands`, { runtime: this.address });
    }
    return replies;
  }

  private async run(stdin: string): Promise<string> {
    let id: string;
    try {
      id = (await this.docker.running(this.container)).id;
    } catch (error) {
      throw new RuntimeTransportError(`cannot reach runtime API ${this.address}: ${(error as Error).message}`, { runtime: this.address }, { cause: error });
    }
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
        `cannot reach runtime API ${this.address}: the client in the container exited with ${result.exitCode}: ${firstLine(result.stderr || result.stdout)}`,
        { runtime: this.address, container: this.container },
      );
    }
    if (!known) this.clients.set(id, result.kind);
    return result.stdout;
  }

  private async exec(id: string, kind: ClientKind, stdin: string): Promise<ExecResult & { kind: ClientKind }> {
    const timeoutSec = Math.max(1, Math.ceil(this.timeoutMs / 1000));
    const command = kind === 'socat' ? ['socat', '-t', String(timeoutSec), 'stdio', `unix-connect:${this.socketPath}`] : ['perl', '-e', PERL_CLIENT, this.socketPath];
    try {
      return { ...(await this.docker.exec(id, command, stdin, this.timeoutMs)), kind };
    } catch (error) {
      if (error instanceof DockerError) {
        throw new RuntimeTransportError(`cannot reach runtime API ${this.address}: ${error.message}`, { runtime: this.address }, { cause: error });
      }
      throw error;
    }
  }
}

// A missing binary is not an API error: runc's message arrives on the output stream with exit code 126 or 127.
function clientMissing(result: ExecResult): boolean {
  return (result.exitCode === 126 || result.exitCode === 127) && /executable file not found|no such file or directory|not found/i.test(result.stdout + result.stderr);
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0]?.slice(0, 200) ?? '';
}
