/**
 * Command output that a closed pipe cannot turn into a crash: `hotcert status | head -1` closes stdout after one
 * line, and the next write fails with EPIPE. From then on output is dropped quietly, and the command ends with the
 * exit code it would have had (what monitoring wrappers piping through `head` or `grep -m1` expect).
 */
export class Stdout {
  private closed = false;

  constructor(private readonly stream: NodeJS.WriteStream = process.stdout) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') this.closed = true;
      else throw error;
    });
  }

  write(text: string): void {
    if (this.closed) return;
    this.stream.write(text);
  }
}
