// Validation is the wall every strategy stands behind: whatever passes here is sent.
import { describe, expect, it } from 'vitest';
import { checkAddress, InvalidRequest, limits, parseEmailJson, parseEmailPath, resolveRequestId, validateEmail } from '../../shared/email.ts';

const ok = { to: 'someone@example.com', subject: 'hello', text: 'body' };

function refusal(fn: () => unknown): { status: number; message: string } {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidRequest);
    return { status: (err as InvalidRequest).status, message: (err as InvalidRequest).message };
  }
  throw new Error('expected the input to be refused');
}

describe('the recipient must be exactly one plain address', () => {
  it.each(['someone@example.com', 'first.last+tag@mail.example.co.uk', "o'brien@example.org", 'x@a-b.example'])('accepts %s', (to) => {
    expect(checkAddress(to)).toBe(to);
  });

  it.each([
    ['a@example.com,b@example.com', /exactly one/],
    ['a@example.com; b@example.com', /exactly one/],
    ['a@b@example.com', /exactly one/],
    ['Some One <someone@example.com>', /exactly one/],
    ['someone@example.com\r\nBcc: victim@example.com', /header injection/],
    ['someone@example.com\nBcc: x@example.com', /header injection/],
    ['some\u0000one@example.com', /header injection/],
    ['no-at-sign.example.com', /valid email address/],
    ['@example.com', /valid email address/],
    ['someone@', /valid email address/],
    ['someone@localhost', /valid email address/],
    ['someone@127.0.0.1', /valid email address/],
    ['some..one@example.com', /valid email address/],
    ['.someone@example.com', /valid email address/],
    ['someone@-example.com', /valid email address/],
    ['', /valid email address/],
    [`${'a'.repeat(65)}@example.com`, /valid email address/],
    [`someone@${'a'.repeat(250)}.com`, /too long/],
  ])('refuses %j', (to, why) => {
    const { status, message } = refusal(() => checkAddress(to));
    expect(status).toBe(400);
    expect(message).toMatch(why);
  });

  it('refuses a non-string address', () => {
    expect(refusal(() => validateEmail({ ...ok, to: ['a@example.com'] }, 'id')).message).toMatch(/to must be a string/);
  });
});

describe('subject and text carry no header injection, no control characters and stay within their limits', () => {
  it.each(['\r', '\n', '\u0007', '\u001b[31m', '\u007f', '\u0085', '\u2028'])('refuses control character %j in the subject', (c) => {
    expect(refusal(() => validateEmail({ ...ok, subject: `hi${c}Bcc: x@example.com` }, 'id')).message).toMatch(/header injection/);
  });

  it('allows line breaks and tabs in the text but not NUL or escapes', () => {
    expect(validateEmail({ ...ok, text: 'line 1\r\nline 2\n\tindented' }, 'id').text).toContain('\n');
    expect(refusal(() => validateEmail({ ...ok, text: 'a\u0000b' }, 'id')).message).toMatch(/control characters/);
    expect(refusal(() => validateEmail({ ...ok, text: 'a\u001b[2Jb' }, 'id')).message).toMatch(/control characters/);
  });

  it('refuses lone surrogates, which have no UTF-8 form, and keeps a whole emoji', () => {
    expect(refusal(() => validateEmail({ ...ok, subject: 'bad \ud800 half' }, 'id')).message).toMatch(/Unicode/);
    expect(validateEmail({ ...ok, subject: 'emoji \ud83d\ude00 ok' }, 'id').subject).toContain('\ud83d\ude00');
  });

  it('refuses oversize fields with their limits in the message', () => {
    expect(refusal(() => validateEmail({ ...ok, subject: 'x'.repeat(limits.subjectLength + 1) }, 'id')).message).toMatch(
      new RegExp(`at most ${limits.subjectLength}`),
    );
    expect(refusal(() => validateEmail({ ...ok, text: 'x'.repeat(limits.textLength + 1) }, 'id')).message).toMatch(/too long/);
  });
});

describe('a JSON body must be one object with exactly to, subject and text', () => {
  it('a valid body becomes the email, under the request id', () => {
    expect(parseEmailJson(JSON.stringify(ok), 'id-1')).toEqual({ id: 'id-1', ...ok });
  });

  it.each([
    ['{"to":', /not valid JSON/],
    ['[]', /JSON object/],
    ['null', /JSON object/],
    ['"text"', /JSON object/],
    [JSON.stringify({ ...ok, cc: 'x@example.com' }), /unknown field.*cc/],
    [JSON.stringify({ to: ok.to, subject: ok.subject }), /text must be a string/],
    [JSON.stringify({ ...ok, subject: 42 }), /subject must be a string/],
  ])('refuses %j', (body, why) => {
    expect(refusal(() => parseEmailJson(body, 'id')).message).toMatch(why);
  });
});

describe("the talk's path route, GET /:to/:subject/:text", () => {
  it('percent-decodes each segment, so an encoded slash stays inside its field', () => {
    expect(parseEmailPath(['someone%40example.com', 'hello%20there', 'a%2Fb'], 'id')).toEqual({
      id: 'id',
      to: 'someone@example.com',
      subject: 'hello there',
      text: 'a/b',
    });
  });

  it.each([
    [['someone@example.com', '%E0%A4%A', 'x'], /percent-encoding/],
    [['someone@example.com', '%C3%28', 'x'], /percent-encoding/],
    [['someone@example.com', 'hi%0D%0ABcc:%20x@example.com', 'x'], /header injection/],
    [['a@example.com%2Cb@example.com', 's', 't'], /exactly one/],
  ])('refuses %j', (segments, why) => {
    expect(refusal(() => parseEmailPath(segments, 'id')).message).toMatch(why);
  });
});

describe('the tracking id (X-Request-Id)', () => {
  it('keeps a valid client id, and invents a UUID when the client sent none', () => {
    expect(resolveRequestId('bench-17:a.b_c')).toBe('bench-17:a.b_c');
    expect(resolveRequestId(undefined)).toMatch(/^[0-9a-f-]{36}$/);
  });

  it.each(['', 'has space', 'a,b', 'x\r\nBcc: y', '-leading-dash', 'é', 'x'.repeat(limits.requestIdLength + 1)])('refuses %j', (id) => {
    expect(refusal(() => resolveRequestId(id)).status).toBe(400);
  });
});
