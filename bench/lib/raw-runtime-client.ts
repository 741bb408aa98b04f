import { connect, type Socket } from 'node:net';

/**
 * The baseline: what a minimal hand-written client does, one connection in `prompt` mode, each command written once
 * the previous reply's `> ` prompt arrived. No checks beyond HAProxy's own success text.
 */
export class RawRuntimeClient {
  private buffer = '';
  private waiter: ((reply: string) => void) | undefined;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer += chunk.toString();
      if (this.buffer.endsWith('\n> ') && this.waiter) {
        const reply = this.buffer.slice(0, -3).replace(/^(\+ )+/, '');
        this.buffer = '';
        const waiter = this.waiter;
        this.waiter = undefined;
        waiter(reply);
      }
    });
  }

  static async open(socketPath: string): Promise<RawRuntimeClient> {
    const socket = connect({ path: socketPath });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('error', reject);
    });
    const client = new RawRuntimeClient(socket);
    await client.command('prompt');
    return client;
  }

  command(line: string, payload?: string): Promise<string> {
    const reply = new Promise<string>((resolve) => (this.waiter = resolve));
    this.socket.write(payload === undefined ? `${line}\n` : `${line} <<\n${payload.trimEnd()}\n\n`);
    return reply;
  }

  async expect(line: string, success: RegExp, payload?: string): Promise<void> {
    const reply = await this.command(line, payload);
    if (!success.test(reply)) throw new Error(`${line.split(' ').slice(0, 3).join(' ')}: ${reply.split('\n')[0]}`);
  }

  close(): void {
    this.socket.end();
  }
}
