// What a test reads back from a stream: an entry's [name, value, ...] as an
// object, and the dead letters of <stream>:dead in the order they were written.
import type { Redis } from 'ioredis';

export const asObject = (pairs: string[]): Record<string, string> => Object.fromEntries(pairs.flatMap((v, i) => (i % 2 === 0 ? [[v, pairs[i + 1]!]] : [])));

export interface DeadLetter {
  entry: string;
  group: string;
  consumer: string;
  deliveries: string;
  error: string;
  /** The entry's fields as JSON. */
  fields: string;
}

export async function deadLetters(redis: Redis, stream: string): Promise<DeadLetter[]> {
  return (await redis.xrange(`${stream}:dead`, '-', '+')).map(([, pairs]) => asObject(pairs) as unknown as DeadLetter);
}
