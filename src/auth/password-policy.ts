import { dictionary } from '@zxcvbn-ts/language-common';
import { registerDecorator, ValidationOptions } from 'class-validator';

export const PASSWORD_MIN_LENGTH = 10;
export const PASSWORD_MAX_LENGTH = 128;
export const PASSWORD_DESCRIPTION = `${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters, not blank, not one character repeated, and not in a list of about 49,000 common passwords (compared case-insensitively)`;

/** The common-password list of @zxcvbn-ts/language-common (49,233 entries), lowercased once, on first use. */
let common: Set<string> | undefined;
function commonPasswords(): Set<string> {
  common ??= new Set((dictionary['passwords-common'] as string[]).map((password) => password.toLowerCase()));
  return common;
}

/** How many common passwords are refused (for the docs and the tests). */
export function commonPasswordCount(): number {
  return commonPasswords().size;
}

/** The rule a password breaks, as a sentence naming it; null when it is acceptable. Length counts code points. */
export function passwordProblem(password: string): string | null {
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH || length > PASSWORD_MAX_LENGTH) {
    return `The password must be ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters long`;
  }
  if (password.trim() === '') return 'The password must not be blank';
  if (new Set(password).size === 1) return 'The password must not be one character repeated';
  if (commonPasswords().has(password.toLowerCase())) return 'The password is in a list of commonly used passwords; choose another';
  return null;
}

/** class-validator: the field must be a string that passes every password rule; the message names the rule broken. */
export function IsAcceptablePassword(options?: ValidationOptions): PropertyDecorator {
  return (target: object, propertyName: string | symbol) =>
    registerDecorator({
      name: 'isAcceptablePassword',
      target: target.constructor,
      propertyName: propertyName as string,
      options: {
        ...options,
        message: (args) => (typeof args.value === 'string' ? (passwordProblem(args.value) ?? '') : 'The password must be a string'),
      },
      validator: { validate: (value: unknown) => typeof value === 'string' && passwordProblem(value) === null },
    });
}
