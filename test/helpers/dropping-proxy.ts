import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';

export interface DroppingProxy {
  /** The socket hotcert connects to instead of HAProxy's. */
  readonly path: string;
  /** Replies dropped so far. */
  dropped(): number;
  close(): Promise<void>;
}

/**
 * A unix socket between hotcert and HAProxy's that passes everything through, except that after a client sends a
 * line starting with `trigger` (e.g. `commit ssl cert`) it lets HAProxy run the command and answer, but drops the
 * answer and closes the client's connection: a reply lost on the way, so the command ran and the client cannot
 * know. Only the first `times` such commands are dropped.
 */
export async function startDroppingProxy(dir: string, target: string, trigger: string, times = 1): Promise<DroppingProxy> {
  const path = join(dir, `dropping-${process.pid}-${Date.now()}.sock`);
  let dropped = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect({ path: target });
    sockets.add(client);
    sockets.add(upstream);
    let dropping = false;
    client.on('data', (chunk: Buffer) => {
      if (!dropping && dropped < times && chunk.toString('utf8').split('\n').some((line) => line.startsWith(trigger))) {
        dropping = true;
        dropped += 1;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      // The command ran; its reply goes nowhere, and the client sees its connection close.
      if (dropping) client.destroy();
      else client.write(chunk);
    });
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', end);
    upstream.on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return {
    path,
    dropped: () => dropped,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
