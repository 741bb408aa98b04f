import { connect, type Socket } from 'node:net';
import { RuntimeTimeoutError, RuntimeTransportError } from '../errors.js';
import type { RuntimeAddress, RuntimeEndpoint } from './runtime-address.js';
import { frameRequest, unframeReply } from './runtime-framing.js';
import type { RuntimeRequest, RuntimeTransport } from './runtime-transport.js';

/**
 * A runtime API reached over a unix or TCP stream socket, one connection per request. Without `prompt` mode HAProxy
 * answers one request per connection and closes it; a second command written later on the same connection can be
 * dropped without a word (a `commit` lost that way leaves the transaction open), so requests are never pipelined.
 */
export class SocketTransport implements RuntimeTransport {
  readonly address: string;

  constructor(
    private readonly endpoint: RuntimeEndpoint,
    private readonly timeoutMs: number,
  ) {
    this.address = endpoint.address;
  }

  // Without prompt mode replies are not delimited: one connection per command.
  async sendBatch(requests: readonly RuntimeRequest[]): Promise<string[]> {
    const replies: string[] = [];
    for (const request of requests) replies.push(await this.send(request));
    return replies;
  }

  async send(request: RuntimeRequest): Promise<string> {
    const bytes = frameRequest(request);
    const target = await this.endpoint.resolve();
    const verb = request.line.split(' ').slice(0, 3).join(' ');
    return new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let settled = false;
      const socket: Socket = target.kind === 'unix' ? connect({ path: target.path }) : connect({ host: target.host, port: target.port });
      const finish = (error: Error | undefined, reply?: string): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        if (error) reject(error);
        else resolve(reply ?? '');
      };
      const timer = setTimeout(() => {
        finish(
          new RuntimeTimeoutError(`runtime API ${this.address} did not answer "${verb}" within ${this.timeoutMs} ms`, {
            runtime: this.address,
          }),
        );
      }, this.timeoutMs);
      socket.once('connect', () => socket.write(bytes));
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.once('end', () => finish(undefined, unframeReply(Buffer.concat(chunks).toString('utf8'))));
      socket.once('error', (error: NodeJS.ErrnoException) => {
        finish(
          new RuntimeTransportError(`cannot reach runtime API ${this.address}: ${explainSocketError(error, target)}`, {
            runtime: this.address,
          }, { cause: error }),
        );
      });
    });
  }
}

export function explainSocketError(error: NodeJS.ErrnoException, target: RuntimeAddress): string {
  switch (error.code) {
    case 'ENOENT':
      return `no socket at ${target.kind === 'unix' ? target.path : 'that path'} (is HAProxy running with this "stats socket"?)`;
    case 'ECONNREFUSED':
      return 'connection refused (is HAProxy running with this "stats socket"?)';
    case 'EACCES':
      return 'permission denied (hotcert needs read and write access to the socket: check its mode and group)';
    case 'ETIMEDOUT':
      return 'connection timed out';
    default:
      return error.code ?? error.message;
  }
}
