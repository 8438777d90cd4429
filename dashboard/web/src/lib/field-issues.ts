import type { FieldIssue } from '../api/client';
import type { MessageKey } from '../i18n/dict';

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

type Translate = (key: MessageKey, vars?: Record<string, string | number>) => string;

/**
 * One schema problem in the page's language: "rules.2.threshold: phải là số". A code the dictionary does not
 * know (a rule's own check) keeps the server's words.
 */
export function issueText(t: Translate, issue: FieldIssue): string {
  const params = { ...(issue.params ?? {}) };
  if (typeof params.expected === 'string') {
    const key = `issue.type.${params.expected}` as MessageKey;
    const word = t(key);
    if (word !== key) params.expected = word;
  }
  const key = (params.missing ? 'issue.required' : `issue.${issue.code}`) as MessageKey;
  const text = t(key, params);
  return `${issue.path ? `${issue.path}: ` : ''}${text === key ? issue.message : text}`;
}
