import { goQuote } from './quote';

describe('goQuote', () => {
  // Outputs of Go's strconv.Quote for the same inputs.
  it.each([
    ['a"b\\c', '"a\\"b\\\\c"'],
    ['\x07\b\f\n\r\t\v', '"\\a\\b\\f\\n\\r\\t\\v"'],
    ['\x01\x7f', '"\\x01\\x7f"'],
    ['é ü', '"é ü"'],
    ['\u00a0\u200b\ufeff', '"\\u00a0\\u200b\\ufeff"'],
    ['😀', '"😀"'],
    ['\u{e0001}', '"\\U000e0001"'],
  ])('quotes %j as Go does', (input, quoted) => {
    expect(goQuote(input)).toBe(quoted);
  });
});
