// Calls made in one turn of the event loop, sent as one: a web process that
// answers many requests at once enqueues (or appends) each in a call of its
// own, and they go to Redis in one script, after the turn, in the order they
// were made. Each caller's promise settles only when that one send has: with
// its own result, or with the send's error.

/**
 * Returns `add(item)`: the items added in one turn are passed together to
 * `send`, once the turn is over; `send` answers one result per item, in order.
 */
export function perTurn<T, R>(send: (items: T[]) => Promise<R[]>): (item: T) => Promise<R> {
  let turn: { items: T[]; sent: Promise<R[]> } | undefined;
  return async (item) => {
    if (!turn) {
      const items: T[] = [];
      const sent = new Promise((resolve) => setImmediate(resolve)).then(() => {
        turn = undefined; // what is added from here on goes in the next turn's send
        return send(items);
      });
      turn = { items, sent };
    }
    const i = turn.items.push(item) - 1;
    return (await turn.sent)[i]!;
  };
}
