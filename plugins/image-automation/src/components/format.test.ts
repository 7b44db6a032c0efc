import {
  formatDuration,
  formatImageRef,
  formatTags,
  formatTime,
} from './format';

describe('format', () => {
  it('formats times as UTC to the second', () => {
    expect(formatTime('2026-11-22T01:02:03.456Z')).toBe(
      '2026-11-22 01:02:03 UTC',
    );
    expect(formatTime(undefined)).toBe('—');
    expect(formatTime('not a time')).toBe('not a time');
  });

  it('formats durations', () => {
    expect(formatDuration(850)).toBe('850 ms');
    expect(formatDuration(2400)).toBe('2.4 s');
    expect(formatDuration(185_000)).toBe('3 min 5 s');
  });

  it('formats image refs with their digest', () => {
    expect(formatImageRef({ tag: '6.5.1' })).toBe('6.5.1');
    expect(formatImageRef({ tag: '6.5.1', digest: 'sha256:abc' })).toBe(
      '6.5.1@sha256:abc',
    );
    expect(formatImageRef(undefined)).toBe('—');
  });

  it('formats tag lists', () => {
    expect(formatTags(['1.0.0', '1.1.0'])).toBe('1.0.0, 1.1.0');
    expect(formatTags([])).toBe('—');
  });
});
