// What the benchmark is doing right now, on stderr (stdout is for results):
// which run of how many, which pass and strategy, which phase, how long the
// phase has left and roughly how long the whole benchmark has left.
//
// live: one line, redrawn four times a second (a terminal)
// lines: a line per phase change (CI logs, pipes, tests)
import type { ProgressEvent } from './types.ts';

export type ProgressMode = 'live' | 'lines' | 'off';

const clock = (ms: number) => {
  const s = Math.max(0, Math.round(ms / 1000));
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
};

export function describe(e: ProgressEvent, now = Date.now()): string {
  const where = [
    `[${e.step}/${e.steps}]`,
    e.pass + (e.round === undefined ? '' : ` round ${e.round}`),
    e.target,
    e.latencyMs === undefined ? '' : `sink ${e.latencyMs} ms`,
    e.fault ?? '',
    e.idempotency ? 'key honoured' : '',
  ].filter(Boolean);
  const phase = e.phaseEndsAt === undefined ? e.phase : `${e.phase} (${clock(e.phaseEndsAt - now)}${e.phase === 'drain' ? ' at most' : ''})`;
  const rate = e.currentRate?.();
  return `${where.join(' · ')} · ${phase}${rate ? ` · ${rate.toLocaleString('en-US')} req/s` : ''} · about ${clock(e.etaMs)} left`;
}

export interface Progress {
  update(e: ProgressEvent): void;
  note(text: string): void;
  /** Clears the live line so the final tables start on a clean line. */
  done(): void;
}

export function createProgress(mode: ProgressMode, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (mode === 'off') return { update() {}, note() {}, done() {} };
  if (mode === 'lines') {
    return {
      update: (e) => void stream.write(`${describe(e)}\n`),
      note: (text) => void stream.write(`${text}\n`),
      done() {},
    };
  }
  let last: ProgressEvent | undefined;
  let lastAt = Date.now();
  const draw = () => {
    if (!last) return;
    // The estimate counts down between events instead of freezing.
    const e = { ...last, etaMs: last.etaMs - (Date.now() - lastAt) };
    const text = describe(e).slice(0, Math.max(40, (stream.columns || 120) - 1));
    stream.write(`\r\x1b[2K${text}`);
  };
  const timer = setInterval(draw, 250);
  timer.unref();
  return {
    update(e) {
      last = e;
      lastAt = Date.now();
      draw();
    },
    note(text) {
      stream.write(`\r\x1b[2K${text}\n`);
      draw();
    },
    done() {
      clearInterval(timer);
      stream.write('\r\x1b[2K');
    },
  };
}
