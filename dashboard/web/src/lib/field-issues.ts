import type { FieldIssue } from '../api/client';

/**
 * Splits server issues into those of one edited item (by field, e.g. "recipients.3.phone" → phone) and the
 * rest. Array positions inside a field ("channels.0") belong to the field itself.
 */
export function issuesFor(issues: FieldIssue[], prefix: string): { fields: Record<string, string>; other: FieldIssue[] } {
  const fields: Record<string, string> = {};
  const other: FieldIssue[] = [];
  for (const i of issues) {
    if (i.path.startsWith(prefix)) {
      const field = i.path.slice(prefix.length).split('.')[0]!;
      fields[field] = fields[field] ? `${fields[field]}; ${i.message}` : i.message;
    } else other.push(i);
  }
  return { fields, other };
}
