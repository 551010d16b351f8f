/**
 * Text into the Temporal Web UI's Markdown (static summary and details, current details). Whatever
 * did not come from our own code (a buyer's course id, a downstream's error, a reviewer's note, a
 * catalog title) is escaped, so that Markdown or HTML in it renders as the literal text it is: a name
 * like `[Resolve here](https://evil.example)` must not become a link, nor `<img onerror=...>` an image.
 * Pure: runs inside the workflow sandbox.
 */

/** What one cell or inline value may show, cut before escaping so that no escape is cut in half. */
export const MARKDOWN_TEXT_MAX = 160;

/**
 * CommonMark punctuation that opens or closes a construct anywhere in a line (emphasis, code, links,
 * images, HTML, table cells, entities), `:` before `//` and `.` after `www` (GFM's autolinks), and at
 * the very start of the text the characters that open a block (headings, lists, quotes). Dashes, dots
 * and colons elsewhere stay as they are, so ids, amounts and times read the same in the CLI.
 */
const MARKDOWN_PUNCTUATION = /[\\`*_{}[\]()#!|<>~&]|:(?=\/\/)|(?<=www)\.|(?<=^\d{1,9})\.|^[-+=>]/gi;

/**
 * `text` as literal Markdown text on one line: whitespace (newlines included) collapsed to single
 * spaces, cut at `max` characters, then every Markdown punctuation character backslash-escaped.
 */
export function escapeMarkdown(text: string | undefined, max = MARKDOWN_TEXT_MAX): string {
  const line = Array.from((text ?? '').replace(/\s+/g, ' ').trim())
    .slice(0, max)
    .join('');
  return line.replace(MARKDOWN_PUNCTUATION, (c) => `\\${c}`);
}

/**
 * `text` for inside a code span, which Markdown renders verbatim: on one line, cut at `max`, and with
 * any backtick (which would end the span) replaced by a quote.
 */
export function codeText(text: string | undefined, max = MARKDOWN_TEXT_MAX): string {
  return Array.from((text ?? '').replace(/\s+/g, ' ').trim())
    .slice(0, max)
    .join('')
    .replace(/`/g, "'");
}

/** `text` as a code span (not for a table cell: a pipe in it would end the cell). */
export function codeSpan(text: string | undefined, max = MARKDOWN_TEXT_MAX): string {
  return `\`${codeText(text, max) || ' '}\``;
}
