import {
  formatDuration,
  formatImageRef,
  formatRelative,
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

  it('formats times relative to now, past and future', () => {
    const now = new Date('2026-11-22T02:00:00Z');
    expect(formatRelative('2026-11-22T01:59:30Z', now)).toBe('just now');
    expect(formatRelative('2026-11-22T01:55:00Z', now)).toBe('5m ago');
    expect(formatRelative('2026-11-21T23:00:00Z', now)).toBe('3h ago');
    expect(formatRelative('2026-11-19T01:00:00Z', now)).toBe('3d ago');
    expect(formatRelative('2026-11-22T02:00:30Z', now)).toBe(
      'in under a minute',
    );
    expect(formatRelative('2026-11-22T02:03:00Z', now)).toBe('in 3m');
    expect(formatRelative('2026-11-22T04:00:00Z', now)).toBe('in 2h');
    expect(formatRelative('2026-11-23T03:00:00Z', now)).toBe('in 1d');
    expect(formatRelative('not a time', now)).toBe('not a time');
  });
});
