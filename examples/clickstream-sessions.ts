/**
 * Clickstream sessions: clicks grouped into per-user sessions (a session closes after 30 minutes
 * without a click), each joined with the user's profile from the `users` topic.
 *
 *   npx weir run examples/clickstream-sessions.ts
 *   kcat -b 127.0.0.1:9092 -P -t users -K:    # u1:{"name":"Ada","country":"UK"}
 *   kcat -b 127.0.0.1:9092 -P -t clicks -K:   # u1:{"page":"/home","ts":1700000000000}
 *   kcat -b 127.0.0.1:9092 -C -t user-sessions -f '%k %s\n'
 *
 * `clicks` is keyed by user id, so the session window needs no repartition: every click of a
 * user is in one partition, and the sessions of that partition's users are in its task's state.
 * `users` is read as a table (every partition, latest profile per user; a null value deletes a
 * user): a session of an unknown user is emitted with country "unknown" (a left join).
 */
import { aggregate, fromTopic, joinTable, pipeline, serdes, session, table, toTopic, window, type Rec } from '../pipelines/index.js';

export interface Click {
  page: string;
  /** Event time, ms. */
  ts: number;
}

export interface User {
  name: string;
  country: string;
}

export interface Session {
  user: string;
  name: string | null;
  country: string;
  start: number;
  end: number;
  clicks: number;
  pages: string[];
}

export const SESSION_GAP_MS = 30 * 60_000;

const users = table('users', { key: serdes.string(), value: serdes.json<User>() });

interface Acc {
  clicks: number;
  pages: string[];
}

export default pipeline('clickstream-sessions')
  .from(fromTopic('clicks', { key: serdes.string(), value: serdes.json<Click>(), eventTime: (r) => r.value.ts, outOfOrdernessMs: 10_000 }))
  .pipe(
    window(
      session({ gapMs: SESSION_GAP_MS }),
      aggregate<Rec<string, Click>, Acc>({
        init: () => ({ clicks: 0, pages: [] }),
        add: (a, r) => {
          a.clicks++;
          // Distinct pages, bounded: a session's state must not grow without limit.
          if (a.pages.length < 50 && !a.pages.includes(r.value.page)) a.pages.push(r.value.page);
          return a;
        },
        merge: (a, b) => ({ clicks: a.clicks + b.clicks, pages: [...new Set([...a.pages, ...b.pages])].slice(0, 50) }),
      }),
    ),
    joinTable(
      users,
      (s, user: User | undefined): Session => ({
        user: s.key,
        name: user?.name ?? null,
        country: user?.country ?? 'unknown',
        start: s.value.start,
        end: s.value.end,
        clicks: s.value.value.clicks,
        pages: [...s.value.value.pages].sort(),
      }),
      { type: 'left' },
    ),
  )
  .to(toTopic('user-sessions', { key: serdes.string(), value: serdes.json<Session>() }));
