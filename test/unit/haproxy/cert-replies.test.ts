import {
  isCommitSuccess,
  parseCertStoreDetails,
  parseTransactionProbe,
  parseCrtListEntries,
  parseSetCertReply,
} from '../../../src/haproxy/cert-replies.js';
import { CrtListText, type CrtListLine } from '../../../src/haproxy/crt-list-file.js';
import { bundleFromPem } from '../../../src/core/bundle.js';

// Replies as HAProxy 2.6.12 printed them (captured from a running instance).
describe('certificate replies', () => {
  it('reads the transaction probe: none, or the path of the one open', () => {
    expect(parseTransactionProbe('No ongoing transaction!')).toBeNull();
    expect(parseTransactionProbe("The ongoing transaction is about '/etc/h/a.pem' but you are trying to abort a transaction for '/.hotcert-transaction-probe.pem'")).toBe('/etc/h/a.pem');
    expect(parseTransactionProbe('Permission denied')).toBeUndefined();
  });

  it('reads a store\'s details; serials as openssl prints them (no sign byte)', () => {
    const details = parseCertStoreDetails(
      'Filename: */etc/h/a.pem\nStatus: Unused\nSerial: 0044D67DABE4021ACC\nnotBefore: Nov 28 00:04:35 2026 GMT\nnotAfter: Dec  1 00:04:35 2026 GMT\nSubject Alternative Name: DNS:a.test\nSHA1 FingerPrint: 54BCAB24605F\n',
    );
    expect(details).toEqual({
      path: '/etc/h/a.pem',
      status: 'Unused',
      serial: '44D67DABE4021ACC',
      notBefore: new Date('2026-11-28T00:04:35Z'),
      notAfter: new Date('2026-12-01T00:04:35Z'),
      sha1Fingerprint: '54BCAB24605F',
      chain: [],
      dnsNames: ['a.test'],
    });
    expect(parseCertStoreDetails("Can't display the certificate: Not found or the certificate is a bundle!")).toBeUndefined();
    expect(parseCertStoreDetails('Filename: /etc/h/a.pem\nStatus: Empty\n')?.serial).toBeUndefined();
  });

  it('tells whose transaction a set went into', () => {
    expect(parseSetCertReply('Transaction created for certificate /etc/h/a.pem!')).toEqual({ created: true, path: '/etc/h/a.pem' });
    expect(parseSetCertReply('Transaction updated for certificate /etc/h/x.pem!')).toEqual({ created: false, path: '/etc/h/x.pem' });
    expect(parseSetCertReply("unable to load certificate from file '/etc/h/a.pem'.\nCan't load the payload")).toBeUndefined();
  });

  it('accepts a commit only on its exact success text', () => {
    expect(isCommitSuccess('Committing /etc/h/a.pem.\nSuccess!', '/etc/h/a.pem')).toBe(true);
    expect(isCommitSuccess('Committing /etc/h/a.pem\nSuccess!', '/etc/h/a.pem')).toBe(true);
    expect(isCommitSuccess('No ongoing transaction! !\nCan\'t commit /etc/h/a.pem!', '/etc/h/a.pem')).toBe(false);
    expect(isCommitSuccess('Committing /etc/h/b.pem.\nSuccess!', '/etc/h/a.pem')).toBe(false);
  });

  it('reads crt-list entries with their line numbers', () => {
    expect(parseCrtListEntries('# /etc/h/list.txt\n/etc/h/d.pem:1\n/etc/h/a.pem:2 [alpn h2 ] a.test\n')).toEqual([
      { path: '/etc/h/d.pem', line: 1, text: '/etc/h/d.pem:1' },
      { path: '/etc/h/a.pem', line: 2, text: '/etc/h/a.pem:2 [alpn h2 ] a.test' },
    ]);
  });
});

const crtListLineState = (text: string, line: CrtListLine) => CrtListText.parse(text).state(line);
const withCrtListLine = (text: string, line: CrtListLine): string => {
  const parsed = CrtListText.parse(text);
  const rendered = parsed.renderWith([{ kind: 'put', line }]);
  // What it answers once the edit is on disk is what was rendered.
  parsed.apply([{ kind: 'put', line }]);
  expect(parsed.render()).toBe(rendered);
  return rendered;
};

describe('crt-list file editing', () => {
  const file = '# default first\n/etc/h/default.pem\n\n/etc/h/a.pem [alpn h2] a.test\n';

  it('finds a line present, absent, or with other options', () => {
    expect(crtListLineState(file, { path: '/etc/h/a.pem', sslOptions: 'alpn h2', sniFilters: ['a.test'] })).toBe('present');
    expect(crtListLineState(file, { path: '/etc/h/a.pem', sniFilters: [] })).toBe('differs');
    expect(crtListLineState(file, { path: '/etc/h/b.pem', sniFilters: [] })).toBe('absent');
    expect(crtListLineState(`${file}/etc/h/a.pem [alpn h2] a.test\n`, { path: '/etc/h/a.pem', sslOptions: 'alpn h2', sniFilters: ['a.test'] })).toBe('differs');
  });

  it('removes every line of a path', () => {
    const parsed = CrtListText.parse(`${file}/etc/h/a.pem\n`);
    expect(parsed.renderWith([{ kind: 'remove', path: '/etc/h/a.pem' }])).toBe('# default first\n/etc/h/default.pem\n\n');
    expect(parsed.state({ path: '/etc/h/a.pem', sniFilters: [] })).toBe('differs');
    parsed.apply([{ kind: 'remove', path: '/etc/h/a.pem' }]);
    expect(parsed.render()).toBe('# default first\n/etc/h/default.pem\n\n');
    expect(parsed.state({ path: '/etc/h/a.pem', sniFilters: [] })).toBe('absent');
  });

  it('renders a batch of edits as the file would be after each in turn, the last edit of a path winning', () => {
    const parsed = CrtListText.parse(`${file}/etc/h/a.pem\n/etc/h/c.pem\n`);
    const edits = [
      { kind: 'put', line: { path: '/etc/h/b.pem', sniFilters: [] } },
      { kind: 'remove', path: '/etc/h/c.pem' },
      { kind: 'put', line: { path: '/etc/h/a.pem', sniFilters: ['x.test'] } },
      { kind: 'put', line: { path: '/etc/h/d.pem', sniFilters: [] } },
      { kind: 'remove', path: '/etc/h/d.pem' },
    ] as const;
    const expected = '# default first\n/etc/h/default.pem\n\n/etc/h/a.pem x.test\n/etc/h/b.pem\n';
    expect(parsed.renderWith(edits)).toBe(expected);
    expect(parsed.render()).toBe(`${file}/etc/h/a.pem\n/etc/h/c.pem\n`);
    parsed.apply(edits);
    expect(parsed.render()).toBe(expected);
    expect(parsed.state({ path: '/etc/h/a.pem', sniFilters: ['x.test'] })).toBe('present');
    expect(parsed.state({ path: '/etc/h/c.pem', sniFilters: [] })).toBe('absent');
    expect(parsed.state({ path: '/etc/h/d.pem', sniFilters: [] })).toBe('absent');
    expect(parsed.renderWith([{ kind: 'put', line: { path: '/etc/h/c.pem', sniFilters: [] } }])).toBe(`${expected}/etc/h/c.pem\n`);
  });

  it('appends a new line once and keeps comments, blank lines and other lines', () => {
    const once = withCrtListLine(file, { path: '/etc/h/b.pem', sniFilters: [] });
    expect(once).toBe(`${file}/etc/h/b.pem\n`);
    expect(withCrtListLine(once, { path: '/etc/h/b.pem', sniFilters: [] })).toBe(once);
  });

  it('replaces a line in place and drops duplicates of it', () => {
    const duplicated = `${file}/etc/h/a.pem\n`;
    expect(withCrtListLine(duplicated, { path: '/etc/h/a.pem', sniFilters: [] })).toBe('# default first\n/etc/h/default.pem\n\n/etc/h/a.pem\n');
  });

  it('an empty file gets one line', () => {
    expect(withCrtListLine('', { path: '/etc/h/a.pem', sniFilters: [] })).toBe('/etc/h/a.pem\n');
  });
});

describe('bundle', () => {
  it('is fullchain then key with no blank line (a blank line ends a runtime payload)', () => {
    const bundle = bundleFromPem(
      '-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----\n\n-----BEGIN CERTIFICATE-----\nBBB\n-----END CERTIFICATE-----\n',
      '\n-----BEGIN PRIVATE KEY-----\nKKK\n-----END PRIVATE KEY-----\n',
    );
    expect(bundle).not.toMatch(/\n\s*\n/);
    expect(bundle.split('\n')[0]).toBe('-----BEGIN CERTIFICATE-----');
    expect(bundle.trimEnd().endsWith('-----END PRIVATE KEY-----')).toBe(true);
  });
});
