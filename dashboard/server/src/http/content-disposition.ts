/**
 * `attachment; filename="…"` with the name reduced to letters, digits, dot, dash and underscore: nothing a
 * caller put in a query string can end the quoted string, add a header parameter or split the header.
 */
export function attachment(filename: string): string {
  const safe =
    filename
      .replace(/[^A-Za-z0-9._-]/g, '_')
      .replace(/^\.+/, '_')
      .slice(0, 100) || 'download';
  return `attachment; filename="${safe}"`;
}
