/**
 * One scrypt implementation for the whole system (`scrypt$N$r$p$salt$hash`, service-kit/src/secrets.ts).
 * Account passwords and kiosk tokens use it too, so the demo and the CLIs create hashes one way.
 */
export { hashSecret as hashPassword, verifySecret as verifyPassword } from '@tamky/service-kit';
