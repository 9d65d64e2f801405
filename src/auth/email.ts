import { isEmail } from 'class-validator';

/**
 * The one e-mail normalization of the service: signup, user creation, login lookup, the login limits' keys and the
 * CLI all use it, and the database stores and compares only its output (exact equality), so no two rules can
 * disagree. Trimmed, Unicode NFC, then each code point's simple lowercase mapping: JavaScript's toLowerCase turns
 * 'İ' (U+0130) into 'i' + U+0307, where the simple mapping (and PostgreSQL's lower() under C.UTF-8) gives 'i'.
 * Applied one code point at a time, so no context rule (the final sigma) applies either.
 */
export function normalizeEmail(email: string): string {
  let lowered = '';
  for (const character of email.trim().normalize('NFC')) lowered += character === '\u0130' ? 'i' : character.toLowerCase();
  return lowered.normalize('NFC');
}

/** Whether a (normalized) e-mail is a syntactically valid address of at most 254 characters. */
export function isValidEmail(email: string): boolean {
  return email.length <= 254 && isEmail(email);
}

/** class-transformer: e-mails in request bodies are validated and used in their normalized form. */
export const toNormalizedEmail = ({ value }: { value: unknown }) => (typeof value === 'string' ? normalizeEmail(value) : value);
