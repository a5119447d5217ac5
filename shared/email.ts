// The one email every strategy sends, and the rules an email must pass before
// any strategy accepts it. Validation lives here, not in each server, so that
// "nothing invalid is ever sent" is true of all five strategies at once.
import { randomUUID } from 'node:crypto';

export interface Email {
  /** Tracking id: travels as the X-Request-Id header so the sink can count deliveries per id. */
  id: string;
  to: string;
  subject: string;
  text: string;
}

/** The Redis strategies' queue and job class, with the talk's resque names. */
export const EMAIL_QUEUE = 'emailQueue';
export const SEND_EMAIL = 'sendEmail';

export const limits = {
  /** RFC 5321: 64 for the local part + @ + 255 for the domain, but a path is at most 256 with brackets. */
  addressLength: 254,
  subjectLength: 200,
  textLength: 10_000,
  /** A whole JSON request body; anything bigger is refused with 413 before it is buffered. */
  bodyBytes: 16 * 1024,
  requestIdLength: 128,
} as const;

/** A client error: the HTTP layer turns it into `{error}` with this status. */
export class InvalidRequest extends Error {
  override name = 'InvalidRequest';
  constructor(
    public readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

// Letters, digits and the few separators ids are made of (UUIDs, ULIDs, "bench-17").
// No spaces, commas or control characters: the id is written into a mail header.
const REQUEST_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;

// One bare address (no display name, no comments, no quoted local part): the
// subset every provider accepts, and one that cannot smuggle a second recipient.
const LOCAL_PART = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const DOMAIN_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

// C0 controls, DEL and C1 controls; plus U+2028/2029, which some mail clients treat as line breaks.
// eslint-disable-next-line no-control-regex
const HEADER_UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
// The body may have line breaks and tabs, but not NUL, escape sequences or other controls.
// eslint-disable-next-line no-control-regex
const BODY_UNSAFE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;
// A lone surrogate cannot be encoded as UTF-8; JSON.parse lets "\ud800" through.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

const isRequestId = (value: unknown): value is string =>
  typeof value === 'string' && value.length > 0 && value.length <= limits.requestIdLength && REQUEST_ID.test(value);
const REQUEST_ID_RULE = `1-${limits.requestIdLength} characters of letters, digits and . _ : - (starting with a letter or digit)`;

export function resolveRequestId(header: string | string[] | undefined): string {
  if (header === undefined) return randomUUID();
  if (!isRequestId(header)) throw new InvalidRequest(400, `X-Request-Id must be ${REQUEST_ID_RULE}`);
  return header;
}

function checkText(field: string, value: unknown, max: number, unsafe: RegExp, what: string): string {
  if (typeof value !== 'string') throw new InvalidRequest(400, `${field} must be a string`);
  if (value.length > max) throw new InvalidRequest(400, `${field} is too long: ${value.length} characters, at most ${max}`);
  if (LONE_SURROGATE.test(value)) throw new InvalidRequest(400, `${field} is not valid Unicode (lone surrogate)`);
  if (unsafe.test(value)) throw new InvalidRequest(400, `${field} must not contain ${what}`);
  return value;
}

export function checkAddress(value: unknown): string {
  const to = checkText('to', value, limits.addressLength, HEADER_UNSAFE, 'control characters or line breaks (header injection)');
  const trimmed = to.trim();
  if (/[,;]/.test(trimmed) || trimmed.split('@').length > 2 || /\s/.test(trimmed)) {
    throw new InvalidRequest(400, 'to must be exactly one email address, without a name, spaces or separators');
  }
  const at = trimmed.lastIndexOf('@');
  const local = trimmed.slice(0, at);
  const domain = trimmed.slice(at + 1);
  const labels = domain.split('.');
  if (
    at <= 0 ||
    local.length > 64 ||
    !LOCAL_PART.test(local) ||
    labels.length < 2 ||
    !labels.every((l) => DOMAIN_LABEL.test(l)) ||
    /^\d+$/.test(labels[labels.length - 1] ?? '')
  ) {
    throw new InvalidRequest(400, `to must be a valid email address such as someone@example.com, got ${JSON.stringify(to.slice(0, 80))}`);
  }
  return trimmed;
}

/** Validates untrusted fields and returns the email to send, or throws InvalidRequest. */
export function validateEmail(input: { to: unknown; subject: unknown; text: unknown }, id: string): Email {
  return {
    id,
    to: checkAddress(input.to),
    subject: checkText('subject', input.subject, limits.subjectLength, HEADER_UNSAFE, 'control characters or line breaks (header injection)'),
    text: checkText('text', input.text, limits.textLength, BODY_UNSAFE, 'control characters other than tab and line breaks'),
  };
}

const EMAIL_FIELDS = ['id', 'to', 'subject', 'text'];
const describe = (value: unknown) => (value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value);

/**
 * The arguments of a `sendEmail` job, checked again by the worker before the
 * email goes out: anyone who can write to Redis can enqueue, so a job is
 * untrusted input like a request. Exactly one argument, an object with the
 * fields the web process enqueues (id, to, subject, text) and no others, each
 * valid by the same rules as a request - the id too, since it becomes a mail
 * header. Throws InvalidRequest saying what is wrong.
 */
export function emailFromJobArgs(args: readonly unknown[]): Email {
  if (args.length !== 1) throw new InvalidRequest(400, `a sendEmail job takes exactly one argument, the email; got ${args.length}`);
  const [value] = args;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidRequest(400, `the email must be an object {"id","to","subject","text"}, got ${describe(value)}`);
  }
  const unknown = Object.keys(value).filter((k) => !EMAIL_FIELDS.includes(k));
  if (unknown.length > 0) throw new InvalidRequest(400, `unknown field(s) in the email: ${unknown.slice(0, 5).map((k) => k.slice(0, 40)).join(', ')}; expected ${EMAIL_FIELDS.join(', ')}`);
  const { id, to, subject, text } = value as Record<string, unknown>;
  if (!isRequestId(id)) throw new InvalidRequest(400, `id must be ${REQUEST_ID_RULE}, got ${describe(id) === 'string' ? JSON.stringify(String(id).slice(0, 40)) : describe(id)}`);
  return validateEmail({ to, subject, text }, id);
}

/** Parses a JSON body already decoded as UTF-8; unknown fields are refused so typos do not vanish. */
export function parseEmailJson(body: string, id: string): Email {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (err) {
    throw new InvalidRequest(400, `body is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidRequest(400, 'body must be a JSON object {"to", "subject", "text"}');
  }
  const unknown = Object.keys(value).filter((k) => !['to', 'subject', 'text'].includes(k));
  if (unknown.length > 0) throw new InvalidRequest(400, `unknown field(s): ${unknown.slice(0, 5).join(', ')}; expected to, subject, text`);
  const { to, subject, text } = value as Record<string, unknown>;
  return validateEmail({ to, subject, text }, id);
}

/** The talk's route: GET /:to/:subject/:text, each segment percent-decoded. */
export function parseEmailPath(segments: string[], id: string): Email {
  const decoded = segments.map((s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      throw new InvalidRequest(400, 'the URL has malformed percent-encoding (or encodes invalid UTF-8)');
    }
  });
  const [to, subject, text] = decoded;
  return validateEmail({ to, subject, text }, id);
}
