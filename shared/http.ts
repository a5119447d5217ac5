// The email HTTP API, identical for every strategy. A strategy only supplies
// what happens to a valid email (`accept`) and what it knows (`stats`); routing,
// body limits, validation and error replies are here, once.
//
//   GET  /                      usage
//   GET  /health                {"ok":true}
//   GET  /stats                 what this strategy knows: sent, failed, pending...
//   POST /emails                JSON {to, subject, text}
//   GET  /:to/:subject/:text    the talk's route, each segment percent-decoded
//   + routes a strategy adds (strategy 4: GET /emails/:id)
import http from 'node:http';
import type { Config } from './config.ts';
import type { Logger } from './logger.ts';
import { type Email, InvalidRequest, limits, parseEmailJson, parseEmailPath, resolveRequestId } from './email.ts';
import { listen, urlHost } from './net.ts';
import { acceptedOne } from './metrics/emails.ts';
import { nameRoute, timeRequest } from './metrics/http.ts';
import { metricsOn, metricsReply } from './metrics/registry.ts';

export interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  /** Sent as-is instead of JSON `body` (a page, a script): give its content-type in `headers`. */
  raw?: string | Buffer;
}

export interface Route {
  method: 'GET' | 'POST';
  /** Matched against the raw path (still percent-encoded, no query string). */
  path: RegExp;
  /** Its template in metrics ("/emails/:id"): a label, so never the path itself. Unnamed: route="other". */
  name?: string;
  handle(match: RegExpExecArray, req: http.IncomingMessage): Promise<Reply> | Reply;
}

/** Answers one request; a thrown InvalidRequest becomes its status, anything else a logged 500. */
export type Handler = (req: http.IncomingMessage) => Promise<Reply>;

export interface EmailApi {
  /** Called only with a valid email. The reply says what the strategy promises (200 sent, 202 accepted...). */
  accept(email: Email): Promise<Reply> | Reply;
  stats(): unknown;
  routes?: Route[];
}

export interface HttpOptions {
  port: number;
  host: string;
  logger: Logger;
  /** Slow or abusive clients are cut off instead of holding sockets forever. */
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
}

/** The HTTP options every strategy's web process takes from its config. */
export function httpOptions(config: Config, logger: Logger): HttpOptions {
  return {
    port: config.PORT,
    host: config.HOST,
    logger,
    headersTimeoutMs: config.HTTP_HEADERS_TIMEOUT_MS,
    requestTimeoutMs: config.HTTP_REQUEST_TIMEOUT_MS,
  };
}

export interface RunningHttp {
  server: http.Server;
  url: string;
  port: number;
  /** Stops accepting, lets in-flight requests finish (their answers close their connections), refuses new ones on kept-alive sockets (503), closes idle ones. */
  close(): Promise<void>;
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}): Reply => ({ status, body, headers });
const usage = {
  routes: ['POST /emails {"to","subject","text"}', 'GET /:to/:subject/:text', 'GET /health', 'GET /stats', 'GET /metrics'],
  trackingId: 'send X-Request-Id to choose the id; otherwise a UUID is assigned',
};

/** Writes a reply: JSON `body` unless `raw` is given, with its length. */
export function sendReply(res: http.ServerResponse, reply: Reply): void {
  if (res.headersSent || res.destroyed) return;
  const payload = reply.raw ?? JSON.stringify(reply.body) + '\n';
  res.writeHead(reply.status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
    ...reply.headers,
  });
  res.end(payload);
}

/** The request's path, still percent-encoded, without its query string. */
export function requestPath(req: http.IncomingMessage): string {
  return (req.url ?? '/').split(/[?#]/)[0] ?? '/';
}

/** The reply of the first route matching the request's method and path (GET routes answer HEAD too), or undefined. */
export function routeRequest(routes: Route[], req: http.IncomingMessage): Promise<Reply> | Reply | undefined {
  const method = req.method ?? 'GET';
  const path = requestPath(req);
  for (const r of routes) {
    const match = r.path.exec(path);
    if (match && (r.method === method || (r.method === 'GET' && method === 'HEAD'))) {
      nameRoute(req, r.name ?? 'other');
      return r.handle(match, req);
    }
  }
  return undefined;
}

/** Reads a JSON body as text, refusing early (413) without buffering more than `maxBytes`. */
export function readBody(req: http.IncomingMessage, maxBytes: number = limits.bodyBytes): Promise<string> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json') {
    return Promise.reject(new InvalidRequest(415, 'Content-Type must be application/json'));
  }
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > maxBytes) {
    return Promise.reject(new InvalidRequest(413, `body is ${declared} bytes, at most ${maxBytes}`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        req.removeAllListeners('data');
        req.pause();
        reject(new InvalidRequest(413, `body is over ${maxBytes} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      try {
        resolve(new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks)));
      } catch {
        reject(new InvalidRequest(400, 'body is not valid UTF-8'));
      }
    });
    req.on('error', reject);
  });
}

function methodNotAllowed(allowed: string): Reply {
  return json(405, { error: `method not allowed; use ${allowed}` }, { allow: allowed });
}

/** An accepted email (a 2xx answer) counts in emails_accepted_total. */
function counted(reply: Reply): Reply {
  if (reply.status < 300) acceptedOne();
  return reply;
}

async function route(api: EmailApi, req: http.IncomingMessage): Promise<Reply> {
  const method = req.method ?? 'GET';
  const path = requestPath(req);
  const isGet = method === 'GET' || method === 'HEAD';

  const added = routeRequest(api.routes ?? [], req);
  if (added) return added;
  if (path === '/' || path === '/health' || path === '/stats' || (path === '/metrics' && metricsOn())) {
    nameRoute(req, path);
    if (!isGet) return methodNotAllowed('GET, HEAD');
    if (path === '/metrics') return metricsReply();
    if (path === '/') return json(200, usage);
    return path === '/health' ? json(200, { ok: true }) : json(200, await api.stats());
  }
  if (path === '/emails') {
    nameRoute(req, '/emails');
    if (method !== 'POST') return methodNotAllowed('POST');
    const id = resolveRequestId(req.headers['x-request-id']);
    return counted(await api.accept(parseEmailJson(await readBody(req), id)));
  }
  const segments = path.slice(1).split('/');
  if (segments.length === 3 && segments.every((s) => s.length > 0)) {
    nameRoute(req, '/:to/:subject/:text');
    if (!isGet) return methodNotAllowed('GET');
    const id = resolveRequestId(req.headers['x-request-id']);
    return counted(await api.accept(parseEmailPath(segments, id)));
  }
  return json(404, { error: `no route for ${method} ${path.slice(0, 200)}`, ...usage });
}

/**
 * An HTTP server around any handler (the email API, the standalone
 * dashboard): timeouts for slow clients, InvalidRequest answered with its
 * status, anything else a logged 500, malformed requests answered at the
 * socket, and new requests refused while it closes.
 */
export function createServer(handle: Handler, options: Omit<HttpOptions, 'port' | 'host'>): http.Server {
  const { logger, headersTimeoutMs = 10_000, requestTimeoutMs = 30_000 } = options;
  const server = http.createServer({
    headersTimeout: headersTimeoutMs,
    requestTimeout: requestTimeoutMs,
    keepAliveTimeout: 5_000,
    // How often Node checks those timeouts (default 30 s: far too coarse for a 1 s limit).
    connectionsCheckingInterval: Math.max(50, Math.min(1_000, headersTimeoutMs / 4)),
  }, (req, res) => {
    // Shutting down (close() was called, so it no longer listens): a kept-alive
    // connection could go on sending requests for ever and hold the drain
    // open. New requests are refused, and every answer still owed ends its
    // connection.
    const closing = () => !server.listening;
    if (closing()) {
      sendReply(res, json(503, { error: 'shutting down: try again' }, { connection: 'close', 'retry-after': '1' }));
      return;
    }
    const timed = timeRequest(req);
    handle(req).then(
      (reply) => {
        // An early refusal (413, 415) leaves a body on the wire: close instead of reading it.
        if (!req.complete || closing()) reply.headers = { ...reply.headers, connection: 'close' };
        sendReply(res, reply);
        timed(reply.status);
      },
      (err: unknown) => {
        const close: Record<string, string> = !req.complete || closing() ? { connection: 'close' } : {};
        if (err instanceof InvalidRequest) {
          sendReply(res, json(err.status, { error: err.message }, close));
          timed(err.status);
          return;
        }
        logger.error({ err, method: req.method, url: req.url?.slice(0, 200) }, 'request failed');
        sendReply(res, json(500, { error: 'internal error' }, close));
        timed(500);
      },
    );
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (socket.writable && err.code !== 'ECONNRESET') {
      const [status, message] =
        err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? ['408 Request Timeout', 'request not received in time']
          : err.code === 'HPE_HEADER_OVERFLOW'
            ? ['431 Request Header Fields Too Large', 'request headers too large']
            : ['400 Bad Request', 'malformed HTTP request'];
      socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-type: application/json\r\n\r\n{"error":"${message}"}\n`);
    } else {
      socket.destroy();
    }
  });
  return server;
}

/** Starts a server for `handle` and returns its URL; `close` stops intake and waits for in-flight requests. */
export async function startServer(handle: Handler, options: HttpOptions): Promise<RunningHttp> {
  const { port, host } = options;
  const server = createServer(handle, options);
  const bound = await listen(server, port, host);
  return {
    server,
    port: bound,
    url: `http://${urlHost(host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host)}:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

/** Starts the email API and returns its URL; `close` stops intake and waits for in-flight requests. */
export function startHttp(api: EmailApi, options: HttpOptions): Promise<RunningHttp> {
  return startServer((req) => route(api, req), options);
}
