// The sink reads only a message's header block (readHeaders in
// shared/smtp-sink.ts): these are the shapes of header a real MTA sends that a
// naive split would get wrong.
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readHeaders } from '../../shared/smtp-sink.ts';

const read = (...chunks: string[]) => readHeaders(Readable.from(chunks.map((c) => Buffer.from(c))));

describe("the sink reads a message's headers as a real MTA sends them", () => {
  it('finds headers case-insensitively and stops at the blank line', async () => {
    const h = await read('X-Request-ID: abc-1\r\nSubject: hi\r\n\r\nX-Request-Id: in-the-body\r\n');
    expect(h.get('x-request-id')).toBe('abc-1');
    expect(h.get('subject')).toBe('hi');
    expect(h.size).toBe(2);
  });

  it('joins folded lines and decodes encoded words', async () => {
    const h = await read('Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\n =?UTF-8?B?8J+YgA==?= and\r\n\tmore\r\nTo: a@example.com\r\n\r\nbody');
    // Unfolding drops the line break, not the white space (RFC 5322 2.2.3).
    expect(h.get('subject')).toBe('Grüße😀 and\tmore');
    expect(h.get('to')).toBe('a@example.com');
  });

  it('keeps the first of repeated headers', async () => {
    const h = await read('X-Request-Id: first\r\nX-Request-Id: second\r\n\r\n');
    expect(h.get('x-request-id')).toBe('first');
  });

  it('finds the blank line across chunk boundaries, with bare LF too, and drains the body', async () => {
    const body = Readable.from([Buffer.from('Subject: split\n'), Buffer.from('\n'), ...Array.from({ length: 100 }, () => Buffer.alloc(10_000, 'x'))]);
    const h = await readHeaders(body);
    expect(h.get('subject')).toBe('split');
    expect(body.readableEnded).toBe(true);
  });

  it('reads a message that is all headers, and skips lines that are not headers', async () => {
    const h = await read('Subject: only headers\r\nnot a header\r\n: no name\r\n');
    expect([...h]).toEqual([['subject', 'only headers']]);
  });
});
