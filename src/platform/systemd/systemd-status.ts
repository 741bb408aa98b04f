import { spawn } from 'node:child_process';
import type { StatusSink } from '../../observe/log/progress.js';

/**
 * The service's status text for `systemctl status` (sd_notify `STATUS=`). Node cannot send the AF_UNIX datagram
 * sd_notify needs (DESIGN.md §5), so `systemd-notify --status=TEXT` sends it; the unit's `NotifyAccess=all` lets
 * systemd take it from that helper. One helper at a time: a text that comes while one runs replaces the waiting one.
 */
export class SystemdStatus implements StatusSink {
  private running = false;
  private waiting: string | undefined;

  /** Only under a systemd that listens: NOTIFY_SOCKET is set for the unit's processes. */
  static fromEnvironment(env: NodeJS.ProcessEnv): SystemdStatus | undefined {
    return env.NOTIFY_SOCKET ? new SystemdStatus() : undefined;
  }

  status(text: string): void {
    this.waiting = text;
    if (!this.running) this.sendWaiting();
  }

  private sendWaiting(): void {
    const text = this.waiting;
    this.waiting = undefined;
    if (text === undefined) return;
    this.running = true;
    const child = spawn('systemd-notify', [`--status=${text}`], { stdio: 'ignore' });
    const done = (): void => {
      this.running = false;
      this.sendWaiting();
    };
    // No systemd-notify (not under systemd after all): the log carries the same text.
    child.once('error', done);
    child.once('close', done);
  }
}
