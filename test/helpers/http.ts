// Plain fetch wrappers: the tests speak to the strategies as a client would.
import { eventually } from './wait.ts';

export interface EmailBody {
  to: string;
  subject: string;
  text: string;
}

export async function postEmail(baseUrl: string, body: EmailBody | string, headers: Record<string, string> = {}) {
  const res = await fetch(`${baseUrl}/emails`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

export async function getJson(url: string) {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

export const email = (n: number | string): EmailBody => ({ to: `user${n}@example.com`, subject: `hello ${n}`, text: `message ${n}` });

/** POSTs email(id) with `id` as its tracking id, the header the sink counts deliveries by. */
export const postTracked = (baseUrl: string, id: string) => postEmail(baseUrl, email(id), { 'x-request-id': id });

/** `n` tracking ids: prefix-0, prefix-1, ... */
export const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

/** The /stats body once nothing is pending: every accepted email was sent or failed. */
export async function settledStats(baseUrl: string, timeoutMs = 15_000): Promise<Record<string, unknown>> {
  const reply = await eventually(() => getJson(`${baseUrl}/stats`), (r) => r.body.pending === 0, timeoutMs, 'pending to reach 0');
  return reply.body;
}
