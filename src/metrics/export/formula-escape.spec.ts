import { escapeFormula } from './formula-escape';

describe('escapeFormula', () => {
  it.each([
    ['=SUM(A1:A9)', "'=SUM(A1:A9)"],
    ['+1', "'+1"],
    ['-2+3', "'-2+3"],
    ['@cmd', "'@cmd"],
    ['\tx', "'\tx"],
    ['\rx', "'\rx"],
    ['Fractions = fun', 'Fractions = fun'],
    ['', ''],
  ])('escapes %j as %j', (input, expected) => {
    expect(escapeFormula(input)).toBe(expected);
  });

  it('leaves numbers and nulls alone, negative ones included', () => {
    expect(escapeFormula(-0.38)).toBe(-0.38);
    expect(escapeFormula(null)).toBeNull();
  });
});
