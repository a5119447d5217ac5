// The one event strategy 6 announces - "an email was requested" - as the
// fields of a stream entry (or the JSON of a pub/sub message), and the check
// every consumer runs on it. Anyone who can write to Redis can append to the
// stream, so an entry is untrusted input like a request.
import { emailFromJobArgs, type Email } from '../../shared/email.ts';

export const EMAIL_REQUESTED = 'email.requested';

export const toEvent = (email: Email): Record<string, string> => ({ type: EMAIL_REQUESTED, ...email });

/** The email an event carries; throws, as permanent (550: never retried), when it is not one of ours. */
export function emailFromEvent(fields: Record<string, unknown>): Email {
  try {
    const { type, ...email } = fields;
    if (type !== EMAIL_REQUESTED) throw new Error(`type must be ${EMAIL_REQUESTED}, got ${JSON.stringify(String(type)).slice(0, 60)}`);
    return emailFromJobArgs([email]);
  } catch (err) {
    throw Object.assign(new Error(`not an email.requested event: ${(err as Error).message}`), { responseCode: 550 });
  }
}
