// The shared HTTP API over real HTTP, in front of a real strategy and sink:
// every hostile request gets a 4xx with a clear message, and nothing is sent.
import { Agent, request } from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../shared/config.ts';
import { startHttp } from '../../shared/http.ts';
import { createLogger } from '../../shared/logger.ts';
import type { Running } from '../../shared/main.ts';
import { startSink, type Sink } from '../../shared/smtp-sink.ts';
import { start as startForeground } from '../../strategies/1-foreground/server.ts';
import { start as startFireAndForget } from '../../strategies/2-fire-and-forget/server.ts';
import { email } from '../helpers/http.ts';
import { until } from '../helpers/queue.ts';

let sink: Sink;
const servers: Record<string, Running> = {};

beforeAll(async () => {
  sink = await startSink();
  const config = loadConfig({ PORT: '0' });
  const logger = createLogger({ strategy: 'test', role: 'web', level: 'silent' });
  servers.foreground = await startForeground({ config, logger, smtpUrl: sink.url });
  servers.fireAndForget = await startFireAndForget({ config, logger, smtpUrl: sink.url });
});

afterAll(async () => {
  for (const s of Object.values(servers)) await s.close();
  await sink.close();
});

/** Raw HTTP for what fetch refuses to send (broken encodings, odd methods, lying lengths). */
function raw(url: string, request: string): Promise<{ status: number; body: string }> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1', () => socket.end(request));
    let data = '';
    socket.on('data', (d) => (data += d.toString()));
    socket.on('error', reject);
    socket.on('close', () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0);
      resolve({ status, body: data.slice(data.indexOf('\r\n\r\n') + 4) });
    });
  });
}

describe.each(['foreground', 'fireAndForget'])('the email API in front of %s', (name) => {
  const url = () => servers[name]!.url;
  const post = (body: string, headers: Record<string, string> = {}) =>
    fetch(`${url()}/emails`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

  it.each([
    ['two recipients', JSON.stringify({ ...email(1), to: 'a@example.com,b@example.com' }), 400, /exactly one/],
    ['header injection in the subject', JSON.stringify({ ...email(1), subject: 'hi\r\nBcc: victim@example.com' }), 400, /header injection/],
    ['malformed JSON', '{"to": "a@example.com",', 400, /not valid JSON/],
    ['a JSON array', '[1,2]', 400, /JSON object/],
    ['an unknown field', JSON.stringify({ ...email(1), bcc: 'x@example.com' }), 400, /unknown field/],
    ['an oversize text', JSON.stringify({ ...email(1), text: 'x'.repeat(10_001) }), 400, /too long/],
    ['a body over the limit', JSON.stringify({ ...email(1), text: 'x'.repeat(20_000) }), 413, /at most 16384/],
  ])('refuses %s', async (_what, body, status, message) => {
    const res = await post(body);
    expect(res.status).toBe(status);
    expect(((await res.json()) as { error: string }).error).toMatch(message);
  });

  it('refuses a wrong content type with 415', async () => {
    const res = await post(JSON.stringify(email(1)), { 'content-type': 'text/plain' });
    expect(res.status).toBe(415);
  });

  it('refuses an invalid X-Request-Id', async () => {
    const res = await post(JSON.stringify(email(1)), { 'x-request-id': 'has spaces and, commas' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(/X-Request-Id/);
  });

  it('refuses invalid UTF-8 in the body', async () => {
    const bytes = Buffer.concat([Buffer.from('{"to":"a@example.com","subject":"'), Buffer.from([0xc3, 0x28]), Buffer.from('","text":"x"}')]);
    const res = await fetch(`${url()}/emails`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: bytes });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(/UTF-8/);
  });

  it('refuses a chunked body that grows over the limit without a Content-Length', async () => {
    const chunk = 'x'.repeat(8000);
    const chunks = Array.from({ length: 4 }, () => `${chunk.length.toString(16)}\r\n${chunk}\r\n`).join('');
    const res = await raw(url(), `POST /emails HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n${chunks}0\r\n\r\n`);
    expect(res.status).toBe(413);
  });

  it('refuses broken percent-encoding and encoded line breaks on the talk route', async () => {
    expect((await raw(url(), 'GET /a@example.com/%E0%A4%A/x HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n')).status).toBe(400);
    const res = await fetch(`${url()}/a@example.com/hi%0D%0ABcc:%20x@example.com/text`);
    expect(res.status).toBe(400);
  });

  it('answers 404 for an unknown route and 405 with Allow for a wrong method', async () => {
    expect((await fetch(`${url()}/no/such/route/here`)).status).toBe(404);
    const wrong = await fetch(`${url()}/emails`);
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('POST');
    expect((await fetch(`${url()}/health`, { method: 'DELETE' })).status).toBe(405);
    expect((await raw(url(), 'BREW /a@example.com/s/t HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n')).status).toBeGreaterThanOrEqual(400);
  });

  it('answers /health with ok, and /stats with what the strategy counts', async () => {
    expect(await (await fetch(`${url()}/health`)).json()).toEqual({ ok: true });
    expect(await (await fetch(`${url()}/stats`)).json()).toMatchObject({ sent: expect.any(Number), failed: 0, pending: expect.any(Number) });
  });
});

describe('after every hostile request', () => {
  it('the sink received nothing, and both servers still answer', async () => {
    for (const s of Object.values(servers)) expect((await fetch(`${s.url}/health`)).status).toBe(200);
    expect(sink.stats()).toMatchObject({ accepted: 0, rejectedTemporary: 0, rejectedPermanent: 0, inProgress: 0 });
  });
});

describe('graceful close with keep-alive clients', () => {
  it('a client that keeps its connection busy does not hold close() open: the answer in flight says "connection: close", and then no more requests are taken', async () => {
    const logger = createLogger({ strategy: 'test', role: 'web', level: 'silent' });
    let accepted = 0;
    const http = await startHttp(
      { accept: async (e) => (await new Promise((r) => setTimeout(r, 20)), accepted++, { status: 202, body: { id: e.id } }), stats: () => ({}) },
      { port: 0, host: '127.0.0.1', logger },
    );
    const agent = new Agent({ keepAlive: true, maxSockets: 2 });
    const post = () =>
      new Promise<{ status: number; connection: string | undefined }>((resolve, reject) => {
        const req = request(`${http.url}/emails`, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode!, connection: res.headers.connection }));
        });
        req.on('error', reject);
        req.end(JSON.stringify(email(1)));
      });
    // Two clients that send again as soon as they have an answer, like a load generator.
    let stop = false;
    const answers: { status: number; connection: string | undefined; afterClose: boolean }[] = [];
    let closeCalled = false;
    const client = async () => {
      while (!stop) {
        try {
          const r = await post();
          answers.push({ ...r, afterClose: closeCalled });
        } catch {
          return; // refused: the server is gone
        }
      }
    };
    const clients = [client(), client()];
    await until(() => answers.length >= 10, 5000, 'the clients to be busy');
    const started = Date.now();
    closeCalled = true;
    await http.close();
    const closedAfter = Date.now() - started;
    const acceptedAtClose = accepted;
    stop = true;
    await Promise.all(clients);
    agent.destroy();
    // Without the 503 and "connection: close" while closing, busy keep-alive connections would be served until the clients stopped.
    expect(closedAfter).toBeLessThan(1000);
    expect(accepted).toBe(acceptedAtClose);
    const late = answers.filter((a) => a.afterClose);
    expect(late.length).toBeLessThanOrEqual(2); // at most the one in flight per connection
    for (const a of late) expect(a.connection).toBe('close');
  });
});
