import { connect } from 'node:net';

/**
 * Sends one command to an HAProxy runtime socket and returns the reply: the harness's own minimal client, so that
 * tests of hotcert's client do not check it against itself.
 */
export function runtimeCommand(socketPath: string, command: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ path: socketPath });
    let reply = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no reply to "${command.split(' ')[0]}" from ${socketPath}`));
    }, timeoutMs);
    socket.once('connect', () => socket.write(`${command}\n`));
    socket.on('data', (chunk: Buffer) => (reply += chunk.toString()));
    socket.once('end', () => {
      clearTimeout(timer);
      resolve(reply);
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}
