import { connect } from 'node:net';
import { RuntimeConnectionClosedError, RuntimeTimeoutError, RuntimeTransportError } from '../errors.js';
import type { RuntimeEndpoint } from './runtime-address.js';
import { explainSocketError } from './socket-transport.js';

/**
 * A byte stream to a runtime API that stays open for a session: a socket, or the stdin and stdout of a client
 * running inside a container.
 */
export interface RuntimeChannel {
  write(text: string): void;
  close(): void;
  /** `onClosed` is called once: with the reason when the stream broke or ended. */
  listen(onData: (text: string) => void, onClosed: (reason: Error) => void): void;
}

/** `onClosed` for streams that report an end more than once ('error', then 'end' and 'close'): the first wins. */
export function firstCloseOnly(onClosed: (reason: Error) => void): (reason: Error) => void {
  let closed = false;
  return (reason) => {
    if (closed) return;
    closed = true;
    onClosed(reason);
  };
}

/** Opens a channel. @throws RuntimeTransportError or RuntimeTimeoutError naming the address. */
export type ChannelOpener = () => Promise<RuntimeChannel>;

/** A unix or TCP connection to the address the endpoint resolves to now. */
export function socketChannelOpener(endpoint: RuntimeEndpoint, timeoutMs: number): ChannelOpener {
  const address = endpoint.address;
  return async () => {
    const target = await endpoint.resolve();
    const socket = target.kind === 'unix' ? connect({ path: target.path }) : connect({ host: target.host, port: target.port });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new RuntimeTimeoutError(`runtime API ${address} did not accept a connection within ${timeoutMs} ms`, { runtime: address }));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.once('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(new RuntimeTransportError(`cannot reach runtime API ${address}: ${explainSocketError(error, target)}`, { runtime: address }, { cause: error }));
      });
    });
    return {
      write: (text) => socket.write(text),
      close: () => socket.destroy(),
      listen: (onData, onClosed) => {
        const closeWith = firstCloseOnly(onClosed);
        socket.on('data', (chunk: Buffer) => onData(chunk.toString('utf8')));
        // Broken mid-session: what was sent may or may not have run (RuntimeConnectionClosedError, not unreachable).
        socket.on('error', (error: NodeJS.ErrnoException) =>
          closeWith(new RuntimeConnectionClosedError(`runtime API ${address}: the connection broke (${error.code ?? error.message})`, { runtime: address }, { cause: error })),
        );
        socket.once('close', () => closeWith(new RuntimeConnectionClosedError(`runtime API ${address} closed the connection`, { runtime: address })));
      },
    };
  };
}
