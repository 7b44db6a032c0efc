import { durationString, formatGoDuration, parseGoDuration } from './duration';
import { parseDuration } from './time';

describe('parseGoDuration', () => {
  it.each([
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['1m30s', 90_000],
    ['1.5h', 5_400_000],
    ['500ms', 500],
    ['2h45m', 9_900_000],
    ['0', 0],
    ['.5s', 500],
    ['+5m', 300_000],
    ['-1m', -60_000],
    ['1µs', 0.001],
    ['1μs', 0.001],
  ])('parses %s', (text, ms) => {
    expect(parseGoDuration(text)).toBe(ms);
  });

  // Go's time.ParseDuration texts (checked against Go by duration.differential.test.ts).
  it.each([
    ['', 'time: invalid duration ""'],
    ['m', 'time: invalid duration "m"'],
    ['.s', 'time: invalid duration ".s"'],
    ['soon', 'time: invalid duration "soon"'],
    ['5', 'time: missing unit in duration "5"'],
    ['1.5.5s', 'time: missing unit in duration "1.5.5s"'],
    ['5x', 'time: unknown unit "x" in duration "5x"'],
    ['3d', 'time: unknown unit "d" in duration "3d"'],
    ['1h 5m', 'time: unknown unit "h " in duration "1h 5m"'],
    ['3000000h', 'time: invalid duration "3000000h"'],
  ])('rejects %j with Go’s message', (text, message) => {
    expect(() => parseGoDuration(text)).toThrow(message);
  });

  it('accepts exactly the int64 range', () => {
    expect(parseDuration('2562047h47m16.854775807s')).toBe((1n << 63n) - 1n);
    expect(parseDuration('-2562047h47m16.854775808s')).toBe(-(1n << 63n));
    expect(() => parseDuration('2562047h47m16.854775808s')).toThrow(
      'time: invalid duration "2562047h47m16.854775808s"',
    );
  });
});

describe('formatGoDuration', () => {
  it.each([
    [300_000, '5m0s'],
    [3_600_000, '1h0m0s'],
    [90_000, '1m30s'],
    [1_500, '1.5s'],
    [500, '500ms'],
    [30_000, '30s'],
    [0, '0s'],
    [9_900_000, '2h45m0s'],
    [-90_000, '-1m30s'],
    [0.0015, '1.5µs'],
    [0.0005, '500ns'],
    [Number.MAX_VALUE, '2562047h47m16.854775807s'],
  ])('prints %d ms as %s', (ms, text) => {
    expect(formatGoDuration(ms)).toBe(text);
  });
});

describe('durationString', () => {
  it.each([
    [1n, '1ns'],
    [999999n, '999.999µs'],
    [1000000n, '1ms'],
    [-(1n << 63n), '-2562047h47m16.854775808s'],
  ])('prints %s ns as %s', (ns, text) => {
    expect(durationString(ns)).toBe(text);
  });
});
