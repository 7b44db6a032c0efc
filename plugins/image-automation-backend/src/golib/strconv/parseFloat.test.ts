import { goParseFloat } from './parseFloat';

describe('goParseFloat', () => {
  it.each([
    ['1', 1],
    ['-1.5', -1.5],
    ['+5', 5],
    ['.5', 0.5],
    ['5.', 5],
    ['1e3', 1000],
    ['1E-2', 0.01],
    ['1_000', 1000],
    ['0x1p4', 16],
    ['0x.8p1', 1],
    ['0X1P-1', 0.5],
    ['0x_1p0', 1],
    ['inf', Infinity],
    ['+Inf', Infinity],
    ['-Infinity', -Infinity],
    ['INFINITY', Infinity],
    ['007', 7],
    ['1e-400', 0],
    ['0e99999', 0],
    ['1606364286', 1606364286],
  ])('accepts %j', (s, value) => {
    expect(goParseFloat(s)).toBe(value);
  });

  it('accepts NaN in any case, without a sign', () => {
    expect(goParseFloat('NaN')).toBeNaN();
    expect(goParseFloat('nan')).toBeNaN();
    expect(goParseFloat('+nan')).toBeUndefined();
  });

  it.each([
    '',
    ' 5',
    '5 ',
    '1,000',
    '0x10',
    '0x',
    '1a',
    'e3',
    '1e',
    '1e+',
    '_1',
    '1_',
    '1__0',
    '1._5',
    '--1',
    'infin',
    'infinityx',
    '1e400',
    '-1e400',
    '0x1p1024',
    '1.2.3',
    'v1',
  ])('rejects %j', s => {
    expect(goParseFloat(s)).toBeUndefined();
  });
});
