// Plain fetch wrappers: the tests speak to the strategies as a client would.
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
