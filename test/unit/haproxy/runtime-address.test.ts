import { formatRuntimeAddress, parseRuntimeAddress } from '../../../src/haproxy/runtime-address.js';
import { frameRequest, unframeReply } from '../../../src/haproxy/runtime-framing.js';
import { parseCliLevel, parseCrtListNames, parseShowInfo, refusalOf } from '../../../src/haproxy/replies.js';
import { dialectFor } from '../../../src/haproxy/dialect.js';

describe('runtime addresses', () => {
  it.each([
    ['unix:/run/haproxy/admin.sock', { kind: 'unix', path: '/run/haproxy/admin.sock' }],
    ['tcp:127.0.0.1:9999', { kind: 'tcp', host: '127.0.0.1', port: 9999 }],
    ['tcp:haproxy.internal:80', { kind: 'tcp', host: 'haproxy.internal', port: 80 }],
    ['tcp:[::1]:9999', { kind: 'tcp', host: '::1', port: 9999 }],
  ])('parses %s and prints it back', (text, expected) => {
    expect(parseRuntimeAddress(text)).toEqual(expected);
    expect(formatRuntimeAddress(parseRuntimeAddress(text))).toBe(text);
  });

  it.each(['unix:admin.sock', 'tcp:127.0.0.1', 'tcp:127.0.0.1:0', 'tcp:::1:80', 'http://x', ''])('rejects "%s"', (text) => {
    expect(() => parseRuntimeAddress(text)).toThrow(/expected|absolute/);
  });
});

describe('runtime framing', () => {
  it('a command without payload is one line', () => {
    expect(frameRequest({ line: 'show info' })).toBe('show info\n');
  });

  it('a payload follows "<<", loses its blank lines (they would end it early) and ends with an empty line', () => {
    expect(frameRequest({ line: 'set ssl cert /a.pem', payload: 'A\n\nB\r\n  \nC\n' })).toBe('set ssl cert /a.pem <<\nA\nB\nC\n\n');
  });

  it('refuses a line break in the command line itself', () => {
    expect(() => frameRequest({ line: 'show info\nshow stat' })).toThrow(/line break/);
  });

  it('strips the empty line that ends every reply', () => {
    expect(unframeReply('Success!\n\n')).toBe('Success!');
  });
});

describe('runtime replies', () => {
  it('reads show info fields', () => {
    const fields = parseShowInfo('Name: HAProxy\nVersion: 2.6.12-1+deb12u4\nPid: 42\nUptime_sec: 7\n');
    expect(fields.get('Version')).toBe('2.6.12-1+deb12u4');
    expect(dialectFor(fields.get('Version') ?? '')).toMatchObject({ series: '2.6', tested: true, commandLimit: 'tune.bufsize' });
    expect(fields.get('Pid')).toBe('42');
  });

  it('reads the CLI level, crt-list names and refusals', () => {
    expect(parseCliLevel('admin\n')).toBe('admin');
    expect(parseCliLevel('Unknown command')).toBeUndefined();
    expect(parseCrtListNames('/etc/haproxy/list.txt\n/etc/haproxy/certs\n')).toEqual(['/etc/haproxy/list.txt', '/etc/haproxy/certs']);
    expect(refusalOf('Permission denied\n')).toBe('permission-denied');
    expect(refusalOf('Unknown command: \'x\'')).toBe('unknown-command');
    expect(refusalOf('Success!')).toBeUndefined();
  });
});
