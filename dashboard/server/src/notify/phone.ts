/** Vietnamese numbers as 84xxxxxxxxx (Zalo and SMS gateways want that); accepts 0…, +84…, 84…, spaces and dots. */
export function normalisePhone(input: string): string | undefined {
  const digits = input.replace(/[\s.\-()]/g, '').replace(/^\+/, '');
  if (!/^\d+$/.test(digits)) return undefined;
  const national = digits.startsWith('84') ? digits.slice(2) : digits.startsWith('0') ? digits.slice(1) : digits;
  if (!/^[1-9]\d{8,9}$/.test(national)) return undefined;
  return `84${national}`;
}
