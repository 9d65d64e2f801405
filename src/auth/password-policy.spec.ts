import { commonPasswordCount, passwordProblem } from './password-policy';

describe('password rules', () => {
  it('accepts a long, uncommon password', () => {
    expect(passwordProblem('correct horse battery')).toBeNull();
    expect(passwordProblem('x'.repeat(127) + 'y')).toBeNull();
  });

  it.each([
    ['short1234', 'The password must be 10 to 128 characters long'],
    ['a'.repeat(129), 'The password must be 10 to 128 characters long'],
    [' '.repeat(10), 'The password must not be blank'],
    ['\t \n'.repeat(4), 'The password must not be blank'],
    ['aaaaaaaaaa', 'The password must not be one character repeated'],
    ['password1234', 'The password is in a list of commonly used passwords; choose another'],
    ['QwertyUIOP', 'The password is in a list of commonly used passwords; choose another'],
    ['1234567890', 'The password is in a list of commonly used passwords; choose another'],
  ])('%j → %s', (password, rule) => {
    expect(passwordProblem(password)).toBe(rule);
  });

  it('refuses a list of at least 10,000 common passwords', () => {
    expect(commonPasswordCount()).toBeGreaterThanOrEqual(10_000);
  });
});
