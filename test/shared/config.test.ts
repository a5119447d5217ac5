import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIG_DOC, withTable } from '../../shared/config-doc.ts';
import { checkClaimTime, ConfigError, loadConfig, settings } from '../../shared/config.ts';

describe('config', () => {
  it('runs with an empty environment: every setting has a working default', () => {
    const config = loadConfig({});
    expect(config.PORT).toBe(8080);
    expect(config.HOST).toBe('127.0.0.1');
    expect(config.SMTP_URL).toBeUndefined();
    expect(config.REDIS_URL).toBeUndefined();
    expect(config.SINK_LATENCY_MS).toBe(0);
  });

  it('turns each value into its type: a number, a URL, a fraction, a boolean', () => {
    const config = loadConfig({ PORT: '0', SMTP_URL: 'smtp://127.0.0.1:2525', SINK_TEMP_FAIL_RATE: '0.25', SMTP_ALLOW_REMOTE: 'yes' });
    expect(config.PORT).toBe(0);
    expect(config.SMTP_URL?.port).toBe('2525');
    expect(config.SINK_TEMP_FAIL_RATE).toBe(0.25);
    expect(config.SMTP_ALLOW_REMOTE).toBe(true);
  });

  it.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['PORT', '80.5'],
    ['SINK_LATENCY_MS', '-1'],
    ['SINK_PERM_FAIL_RATE', '1.5'],
    ['SMTP_URL', 'http://127.0.0.1:25'],
    ['SMTP_URL', 'smtp://no-port'],
    ['REDIS_URL', 'not a url'],
    ['LOG_LEVEL', 'loud'],
    ['SMTP_ALLOW_REMOTE', 'maybe'],
    ['EVENT_TRANSPORT', 'kafka'],
    ['STREAM_MAXLEN', '0'],
    ['CONSUMER_GROUP', 'mailer\nsignups'],
    ['GROUP_RESET', 'maybe'],
    ['CLAIM_MIN_IDLE_MS', '50'],
    ['GROUP_START', 'bogus'],
  ])('refuses %s=%j with a message naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`${name} must`));
  });

  it('strategy 6 runs from its defaults: a stream, the mailer group from the oldest event, a claim time past the slowest send', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ EVENT_TRANSPORT: 'stream', EVENT_STREAM: 'events:email-requested', STREAM_MAXLEN: 100_000, CONSUMER_GROUP: 'mailer', GROUP_START: '0', GROUP_RESET: false });
    expect(config.CLAIM_MIN_IDLE_MS).toBeGreaterThan(config.SMTP_TIMEOUT_MS);
  });

  it('refuses, for strategy 6, a claim time that does not exceed SMTP_TIMEOUT_MS, which would send an email still on its way a second time', () => {
    expect(() => checkClaimTime(loadConfig({ CLAIM_MIN_IDLE_MS: '5000', SMTP_TIMEOUT_MS: '5000' }))).toThrow(/CLAIM_MIN_IDLE_MS must exceed SMTP_TIMEOUT_MS \(5000 ms\), got 5000/);
    expect(() => checkClaimTime(loadConfig({ CLAIM_MIN_IDLE_MS: '30000' }))).toThrow(/CLAIM_MIN_IDLE_MS must exceed SMTP_TIMEOUT_MS \(30000 ms\)/);
    expect(() => checkClaimTime(loadConfig({ CLAIM_MIN_IDLE_MS: '5001', SMTP_TIMEOUT_MS: '5000' }))).not.toThrow();
    // The other strategies never claim: a long SMTP timeout is theirs to choose.
    expect(loadConfig({ SMTP_TIMEOUT_MS: '120000' }).SMTP_TIMEOUT_MS).toBe(120_000);
  });

  it('reports every bad variable at once', () => {
    expect(() => loadConfig({ PORT: 'x', LOG_LEVEL: 'y' })).toThrow(/PORT must[\s\S]*LOG_LEVEL must/);
  });

  it('docs/configuration.md lists every variable, exactly as npm run config:doc writes it', () => {
    const doc = readFileSync(CONFIG_DOC, 'utf8');
    const missing = Object.keys(settings).filter((name) => !doc.includes(`| \`${name}\` |`));
    expect(missing, 'run npm run config:doc to regenerate the table').toEqual([]);
    expect(withTable(doc) === doc, 'run npm run config:doc to regenerate the table').toBe(true);
  });
});
