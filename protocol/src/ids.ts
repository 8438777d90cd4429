/**
 * Gateway, device, ward and rule ids become topic levels and store tags: no wildcards, slashes or spaces.
 * Plain code, no zod: the web app's forms check ids with it too.
 */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
export const ID_HINT = 'must be 1-64 of A-Z a-z 0-9 _ . -';

export function isValidId(id: string): boolean {
  return ID_PATTERN.test(id);
}

/** Usernames and notification recipient ids: the same rule, lower case only (people type them in replies and logins). */
export const NAME_PATTERN = /^[a-z0-9][a-z0-9_.-]{0,63}$/;
export const NAME_HINT = 'must be 1-64 of a-z 0-9 _ . -';

export function isValidName(name: string): boolean {
  return NAME_PATTERN.test(name);
}
