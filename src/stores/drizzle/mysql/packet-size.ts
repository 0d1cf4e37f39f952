/**
 * MariaDB refuses a statement longer than its `max_allowed_packet` (16 MB by default) with
 * ER_NET_PACKET_TOO_LARGE and then closes the connection, which mysql2 has already handed back
 * to the pool: the next request to take it, any session's, fails with ECONNRESET. So a write
 * whose values are large is first measured against the server's limit and refused, with
 * nothing sent, when it would not fit (test/attacks/issue16-mysql-packet.test.ts).
 */

/** Below this many bytes of values a statement is not checked: far under any max_allowed_packet in use (MariaDB's default is 16 MB). */
export const LARGE_STATEMENT_BYTES = 512 * 1024;

/** Room for the statement's text, ids, times and key paths around its values. */
export const STATEMENT_MARGIN_BYTES = 16 * 1024;

/**
 * The bytes mysql2 sends for `text` as an escaped string literal: its UTF-8 length, one more
 * per character it escapes with a backslash (`\0 \b \t \n \r \x1a " ' \`), and the two quotes.
 */
export function escapedLength(text: string): number {
  let bytes = 2;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += ESCAPED.has(c) ? 2 : 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

const ESCAPED = new Set([0, 8, 9, 10, 13, 26, 34, 39, 92]);
