// shared/per-turn.ts: what is added in one turn of the event loop is sent
// once, after the turn, in order; each caller gets its own result, or the
// send's error; the next turn is a send of its own.
import { describe, expect, it } from 'vitest';
import { perTurn } from '../../shared/per-turn.ts';

describe('perTurn', () => {
  it('sends the items of one turn together, in order, and answers each with its own result', async () => {
    const sends: string[][] = [];
    const add = perTurn(async (items: string[]) => (sends.push(items), items.map((i) => i.toUpperCase())));
    expect(await Promise.all([add('a'), add('b'), add('c')])).toEqual(['A', 'B', 'C']);
    expect(await add('d')).toBe('D');
    expect(sends).toEqual([['a', 'b', 'c'], ['d']]);
  });

  it("a failed send rejects every item of its turn, and the next turn sends again", async () => {
    let fail = true;
    const add = perTurn(async (items: number[]) => {
      if (fail) throw new Error('Redis is down');
      return items.map((n) => n * 2);
    });
    const first = await Promise.allSettled([add(1), add(2)]);
    expect(first.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    expect(await add(3)).toBe(6);
  });
});
