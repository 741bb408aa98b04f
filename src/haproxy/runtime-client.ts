import { RuntimeCommandError } from '../errors.js';
import { parseCliLevel, parseCrtListNames, parseShowInfo, refusalOf, type CliLevel } from './replies.js';
import type { RuntimeTransport } from './runtime-transport.js';

export interface HaproxyInfo {
  readonly version: string;
  readonly pid: number;
  readonly uptimeSec: number;
}

/** Typed runtime API commands for one target, over whichever transport reaches it. */
export class RuntimeClient {
  constructor(
    readonly target: string,
    private readonly transport: RuntimeTransport,
  ) {}

  get address(): string {
    return this.transport.address;
  }

  async showInfo(): Promise<HaproxyInfo> {
    const reply = await this.transport.send({ line: 'show info' });
    const fields = parseShowInfo(reply);
    const version = fields.get('Version');
    if (!version) throw this.unexpected('show info', reply);
    return { version, pid: Number(fields.get('Pid') ?? NaN), uptimeSec: Number(fields.get('Uptime_sec') ?? NaN) };
  }

  async showCliLevel(): Promise<CliLevel> {
    const reply = await this.transport.send({ line: 'show cli level' });
    const level = parseCliLevel(reply);
    if (!level) throw this.unexpected('show cli level', reply);
    return level;
  }

  /** Every crt-list file and `crt` directory HAProxy loaded, as HAProxy names them. */
  async showCrtLists(): Promise<string[]> {
    const reply = await this.transport.send({ line: 'show ssl crt-list' });
    if (refusalOf(reply)) throw this.unexpected('show ssl crt-list', reply);
    return parseCrtListNames(reply);
  }

  private unexpected(command: string, reply: string): RuntimeCommandError {
    const firstLine = reply.split('\n')[0] ?? '';
    if (refusalOf(reply) === 'permission-denied') {
      return new RuntimeCommandError(
        `target ${this.target}: HAProxy refused "${command}": Permission denied (the stats socket needs "level admin")`,
        reply,
        { target: this.target, runtime: this.transport.address },
      );
    }
    return new RuntimeCommandError(
      `target ${this.target}: unexpected reply to "${command}": ${firstLine === '' ? '(empty)' : firstLine}`,
      reply,
      { target: this.target, runtime: this.transport.address },
    );
  }
}
