// Hostile input against every strategy, as real processes: thousands of
// generated bad requests each get a 4xx with a clear message, slow and abusive
// clients are cut off, and the sink receives nothing at all.
import net from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServices } from '../helpers/services.ts';
import { startEntry, type Child } from '../helpers/spawn.ts';
import { strategies } from '../helpers/strategies.ts';

const RUNS = 1000;
const CONTROL = [...Array.from({ length: 32 }, (_, i) => String.fromCharCode(i)), '\u007f', '\u0085', '\u2028'];
const BODY_CONTROL = CONTROL.filter((c) => !'\t\r\n'.includes(c) && c !== '\u2028');

interface Hostile {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
}

const valid = { to: 'someone@example.com', subject: 'hello', text: 'body' };
const json = (o: unknown): Hostile => ({ method: 'POST', path: '/emails', headers: { 'content-type': 'application/json' }, body: JSON.stringify(o) });
const insertAt = (s: string, at: number, c: string) => s.slice(0, at % (s.length + 1)) + c + s.slice(at % (s.length + 1));

const badAddress = fc.oneof(
  fc.tuple(fc.emailAddress(), fc.emailAddress(), fc.constantFrom(',', ';', ', ', ' ')).map(([a, b, sep]) => `${a}${sep}${b}`),
  fc.emailAddress().map((a) => `Some One <${a}>`),
  fc.string({ maxLength: 40 }).filter((s) => !s.includes('@')),
  fc.tuple(fc.emailAddress(), fc.nat(), fc.constantFrom(...CONTROL)).map(([a, at, c]) => insertAt(a, at, c)),
  fc.string({ minLength: 255, maxLength: 400 }).map((s) => `${s}@example.com`),
);

const hostile: fc.Arbitrary<Hostile> = fc.oneof(
  badAddress.map((to) => json({ ...valid, to })),
  fc.tuple(fc.string({ maxLength: 30 }), fc.nat(), fc.constantFrom(...CONTROL)).map(([s, at, c]) => json({ ...valid, subject: insertAt(s, at, c) })),
  fc.tuple(fc.string({ maxLength: 30 }), fc.nat(), fc.constantFrom(...BODY_CONTROL)).map(([s, at, c]) => json({ ...valid, text: insertAt(s, at, c) })),
  fc.constantFrom('subject', 'text').map((field) => json({ ...valid, [field]: 'x'.repeat(field === 'subject' ? 201 : 10_001) })),
  fc.record({ to: fc.anything(), subject: fc.anything(), text: fc.anything() }).filter((o) => typeof o.to !== 'string').map(json),
  fc.dictionary(fc.string({ maxLength: 8 }).filter((k) => !['to', 'subject', 'text'].includes(k)), fc.string(), { minKeys: 1 }).map((extra) => json({ ...valid, ...extra })),
  fc.tuple(fc.json(), fc.nat()).filter(([j]) => j.length > 1).map(([j, cut]) => ({ ...json(null), body: j.slice(0, 1 + (cut % (j.length - 1))) + '\u0000' })),
  fc.string({ maxLength: 60 }).filter((s) => { try { JSON.parse(s); return false; } catch { return true; } }).map((body) => ({ ...json(null), body })),
  fc.uint8Array({ minLength: 1, maxLength: 8 }).map((bad) => ({
    ...json(null),
    body: Buffer.concat([Buffer.from('{"to":"a@example.com","subject":"'), Buffer.from([0xff, ...bad]), Buffer.from('","text":"x"}')]),
  })),
  fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data', '').map((type) => ({ ...json(valid), headers: { 'content-type': type } })),
  fc.integer({ min: 16 * 1024 + 1, max: 64 * 1024 }).map((size) => json({ ...valid, text: 'x'.repeat(size) })),
  fc.constantFrom('%', '%G1', '%E0%A4%A', '%C3%28', '%ED%A0%80', '%FF', '%0D%0ABcc:x@example.com').map((seg) => ({ method: 'GET', path: `/a@example.com/${seg}/text`, headers: {} })),
  fc.constantFrom('PUT', 'DELETE', 'PATCH', 'OPTIONS').chain((method) => fc.constantFrom('/emails', '/health', '/stats', '/a@example.com/s/t').map((path) => ({ method, path, headers: {} }))),
  fc.array(fc.stringMatching(/^[a-z0-9]{1,6}$/), { minLength: 4, maxLength: 6 }).map((segs) => ({ method: 'GET', path: `/${segs.join('/')}`, headers: {} })),
  // HTTP trims spaces around header values, so " abc " arrives as the valid "abc": generate what stays invalid.
  fc.string({ minLength: 1, maxLength: 20 }).filter((s) => s.trim() !== '' && !/^[A-Za-z0-9][A-Za-z0-9._:-]*$/.test(s.trim()) && /^[\x20-\x7e]*$/.test(s)).map((id) => ({ ...json(valid), headers: { 'content-type': 'application/json', 'x-request-id': id } })),
);

// Not isolated: each strategy runs once for all of its tests, and the last
// test checks what the sink received from every one before it.
const { sink, env } = await startServices({ redis: true, isolate: false });

/** Sends raw bytes on a fresh socket; resolves with what came back and how the socket ended. */
function rawSocket(port: number, send: (socket: net.Socket) => void, timeoutMs: number): Promise<{ data: string; closedAfterMs: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = net.connect(port, '127.0.0.1', () => send(socket));
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`socket still open after ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('data', (d) => (data += d.toString()));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ data, closedAfterMs: Date.now() - started });
    });
  });
}

describe.each(strategies)('strategy $name under hostile input', ({ name, entry }) => {
  let child: Child;
  let url: string;
  beforeAll(async () => {
    ({ child, url } = await startEntry(entry, env({ HTTP_HEADERS_TIMEOUT_MS: '1000', HTTP_REQUEST_TIMEOUT_MS: '2000' })));
  });
  afterAll(async () => {
    expect(await child.stop('SIGTERM')).toBe(0);
  });
  /** One raw request on its own socket, for what fetch will not send: a body cut short, a lying Content-Length. */
  const rawRequest = (request: string) => rawSocket(Number(new URL(url).port), (socket) => socket.write(request), 15_000);

  // The next four use a socket each and run side by side: the slow ones wait on the server's timeouts, not on work.
  it.concurrent(`refuses ${RUNS} generated hostile requests with a 4xx and a clear message`, async ({ expect }) => {
    await fc.assert(
      fc.asyncProperty(hostile, async (h) => {
        const res = await fetch(url + h.path, { method: h.method, headers: h.headers, body: h.body });
        const body = (await res.json()) as { error?: unknown };
        expect(res.status, `${h.method} ${h.path} ${String(h.body).slice(0, 100)}`).toBeGreaterThanOrEqual(400);
        expect(res.status).toBeLessThan(500);
        expect(typeof body.error).toBe('string');
        expect((body.error as string).length).toBeGreaterThan(5);
      }),
      { numRuns: RUNS },
    );
    expect((await fetch(`${url}/health`)).status).toBe(200);
  });

  it.concurrent('cuts off a client that sends its headers byte by byte (slowloris)', async ({ expect }) => {
    const { port } = new URL(url);
    const result = await rawSocket(
      Number(port),
      (socket) => {
        const request = 'GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'a'.repeat(1000);
        let i = 0;
        const drip = setInterval(() => (socket.writable && i < request.length ? socket.write(request[i++]!) : clearInterval(drip)), 100);
        socket.on('close', () => clearInterval(drip));
      },
      15_000,
    );
    expect(result.closedAfterMs).toBeLessThan(10_000);
    expect(result.data).not.toMatch(/200 OK/);
  });

  it.concurrent('answers 408 to a client that never finishes its body', async ({ expect }) => {
    const result = await rawRequest('POST /emails HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"to":');
    expect(result.data).toMatch(/^HTTP\/1\.1 408/);
  });

  it.concurrent('refuses a declared oversize body with 413 before it is sent', async ({ expect }) => {
    const result = await rawRequest('POST /emails HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\n\r\n');
    expect(result.data).toMatch(/^HTTP\/1\.1 413/);
    expect(result.data).toMatch(/at most 16384/);
  });

  it('survives 300 connections opened at once', async () => {
    const { port } = new URL(url);
    const sockets = await Promise.all(
      Array.from({ length: 300 }, () => new Promise<net.Socket>((resolve) => {
        const s = net.connect(Number(port), '127.0.0.1', () => resolve(s));
        s.on('error', () => resolve(s));
      })),
    );
    expect((await fetch(`${url}/health`)).status).toBe(200);
    for (const s of sockets) s.destroy();
    expect(child.process.exitCode).toBeNull();
  });

  it(`${name}: none of it reached the sink`, () => {
    expect(sink.stats()).toMatchObject({ accepted: 0, rejectedTemporary: 0, rejectedPermanent: 0 });
  });
});
