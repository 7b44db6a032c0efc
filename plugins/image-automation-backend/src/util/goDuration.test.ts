import { formatGoDuration, parseGoDuration } from './goDuration';

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
  ])('parses %s', (text, ms) => {
    expect(parseGoDuration(text)).toBe(ms);
  });

  it.each(['', '5', 'm', '5x', '1h 5m', '.s'])('rejects %j with Go’s message', text => {
    expect(() => parseGoDuration(text)).toThrow(`time: invalid duration "${text}"`);
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
  ])('prints %d ms as %s', (ms, text) => {
    expect(formatGoDuration(ms)).toBe(text);
  });
});
