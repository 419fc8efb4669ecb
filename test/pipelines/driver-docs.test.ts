/** The examples of README.md and docs/pipelines.md, run as written, so the docs stay true. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { filter } from 'rxjs';
import { count, flatMapValue, fromTopic, pipeline, serdes, session, TestDriver, toTopic, tumbling, window, type WindowResult } from '../../pipelines/index.js';

interface Click {
  user: string;
  page: string;
  ts: number;
}

describe('documentation examples', () => {
  it('README: clicks per session', () => {
    const clicksPerSession = pipeline('clicks-per-session')
      .from(fromTopic('clicks', { value: serdes.json<Click>(), eventTime: (r) => r.value.ts, outOfOrdernessMs: 5_000 }))
      .pipe(filter((r) => !r.value.page.startsWith('/health')))
      .keyBy((r) => r.value.user, { key: serdes.string(), value: serdes.json<Click>() })
      .pipe(window(session({ gapMs: 30 * 60_000 }), count(), { allowedLatenessMs: 60_000 }))
      .side('late', toTopic('late-clicks', { value: serdes.json<Click>() }))
      .to(toTopic('sessions', { key: serdes.string(), value: serdes.json() }));
    const driver = new TestDriver(clicksPerSession);
    driver.pipe('clicks', [
      { value: { user: 'ann', page: '/', ts: 0 } },
      { value: { user: 'ann', page: '/health/x', ts: 10 } },
      { value: { user: 'ann', page: '/a', ts: 60_000 } },
    ]);
    driver.advanceTime(15_000);
    assert.deepEqual(driver.output('sessions'), []);
    driver.endOfInput();
    const out = driver.output<string, WindowResult<number>>('sessions');
    assert.deepEqual(out.map((r) => [r.key, r.value]), [['ann', { start: 0, end: 1_860_000, value: 2 }]]);
    assert.deepEqual(driver.output('late-clicks'), []);
  });

  it('docs/pipelines.md: word count test', () => {
    const wordCount = pipeline('word-count')
      .from(fromTopic('lines', { value: serdes.string(), outOfOrdernessMs: 5_000 }))
      .pipe(flatMapValue((line: string) => line.toLowerCase().split(/\W+/).filter(Boolean)))
      .keyBy((r) => r.value, { key: serdes.string(), value: serdes.string() })
      .pipe(window(tumbling({ sizeMs: 60_000 }), count()))
      .to(toTopic('word-counts', { key: serdes.string(), value: serdes.json() }));
    const driver = new TestDriver(wordCount, { partitions: { lines: 2 } });
    driver.pipe('lines', [
      { value: 'the quick fox', timestamp: 1_000 },
      { value: 'the end', timestamp: 2_000 },
      { value: 'later', timestamp: 70_000 },
    ]);
    // Partition 1 of `lines` got nothing: once it has been idle for idleTimeoutMs (10 s of the
    // manual clock) it stops holding the watermark back, and the first minute closes.
    driver.advanceTime(10_000);
    assert.deepEqual(
      driver
        .output<string, WindowResult<number>>('word-counts')
        .map((r) => [r.key, r.value.value])
        .sort(),
      [['end', 1], ['fox', 1], ['quick', 1], ['the', 2]],
    );
  });
});
