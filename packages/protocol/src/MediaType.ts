/**
 * Media type validation for `Content-Type` (PROTOCOL §6.1, §17.4).
 *
 * `type/subtype` where both are RFC 6838 restricted names (a letter or digit, then letters, digits and
 * `! # $ & - ^ _ . +`, at most 127 characters), followed by optional `; name=value` parameters whose values are
 * tokens or quoted strings, with optional whitespace around `;`.
 *
 * @since 0.1.0
 */

const restrictedName = "[A-Za-z0-9][A-Za-z0-9!#$&\\-^_.+]{0,126}"
const token = "[!#$%&'*+\\-.^_`|~0-9A-Za-z]+"
const quotedString = "\"(?:[\\t !\\x23-\\x5b\\x5d-\\x7e]|\\\\[\\t \\x21-\\x7e])*\""
const pattern = new RegExp(
  `^${restrictedName}/${restrictedName}(?:[ \\t]*;[ \\t]*${token}=(?:${token}|${quotedString}))*$`
)

/**
 * Whether `text` is a valid media type: `text/plain; charset=utf-8` is, `not a valid media type!`, `text` and the
 * empty string are not.
 *
 * @since 0.1.0
 * @category guards
 */
export const isValid = (text: string): boolean => pattern.test(text)
