// What stands between a web page on the internet and the buttons that retry or
// delete jobs. The dashboard listens on loopback by default, but a browser on
// the same machine visits other sites, and those can send it requests:
//   - cross-site request forgery: every state change is a POST that must carry
//     the token (printed at start, embedded in the page: another origin cannot
//     read it) in a custom header, with a same-origin Origin/Sec-Fetch-Site
//     when the browser sends them; GETs change nothing;
//   - DNS rebinding (evil.example resolving to 127.0.0.1, so the browser sees
//     one origin): while bound to loopback, only loopback Host names are served;
//   - job content is user input: the page builds its DOM with textContent, and
//     the Content-Security-Policy forbids inline script as a second line.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type http from 'node:http';
import { isLoopback } from '../net.ts';

export const TOKEN_HEADER = 'x-dashboard-token';

export function newToken(): string {
  return randomBytes(24).toString('hex');
}

export const securityHeaders: Record<string, string> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

function hostname(hostHeader: string | undefined): string | undefined {
  if (!hostHeader) return undefined;
  try {
    return new URL(`http://${hostHeader}`).hostname;
  } catch {
    return undefined;
  }
}

/** Why a request's Host is refused while the dashboard is bound to loopback, or null. */
export function refuseHost(req: http.IncomingMessage, loopbackOnly: boolean): string | null {
  if (!loopbackOnly) return null;
  const name = hostname(req.headers.host);
  if (name !== undefined && isLoopback(name)) return null;
  return 'the dashboard answers only to localhost, 127.0.0.1 or [::1] while it listens on loopback (DNS rebinding protection)';
}

/** Why a state-changing request is refused, or null when it is same-origin and carries the token. */
export function refusePost(req: http.IncomingMessage, token: string): string | null {
  const given = req.headers[TOKEN_HEADER];
  const a = Buffer.from(typeof given === 'string' ? given : '');
  const b = Buffer.from(token);
  if (a.length !== b.length || !timingSafeEqual(a, b)) {
    return `missing or wrong ${TOKEN_HEADER} header: use the dashboard page, or the token the dashboard printed at start`;
  }
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin') return `cross-site request refused (Sec-Fetch-Site: ${site})`;
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== `http://${req.headers.host}` && origin !== `https://${req.headers.host}`) {
    return `cross-origin request refused (Origin: ${origin.slice(0, 200)})`;
  }
  return null;
}
