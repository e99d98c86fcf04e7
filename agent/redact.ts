// Credentials never leave in text: config show, error messages, dead-letter reasons, the log and /status. URLs lose
// their user:password and key-like query values; values the agent knows are secret (its own Authorization, API key)
// are cut out of anything an ERP echoes back.

const URL_CREDENTIALS = /([a-z][a-z0-9+.-]*:\/\/)([^\s/@:]+):([^\s/@]*)@/gi;
const KEY_QUERY = /([?&;][^=&\s#]*(?:key|token|secret|password|passwd|pwd|sig|signature|auth)[^=&\s#]*=)[^&\s#"'<>]*/gi;

/** Masks `scheme://user:pass@` and key-like query parameters (`?apikey=...`, `&access_token=...`). */
export function redactUrls(text: string): string {
  return text.replace(URL_CREDENTIALS, '$1$2:***@').replace(KEY_QUERY, '$1***');
}

/**
 * Cuts known secret values out of a text (an ERP answer that echoes our Authorization header), then masks URL
 * credentials. A header value like "Bearer abc" is cut whole and as its last word.
 */
export function scrub(text: string, secrets: Iterable<string>): string {
  let out = text;
  for (const s of secrets) {
    for (const v of new Set([s, s.split(' ').at(-1) ?? ''])) if (v.length >= 4) out = out.split(v).join('***');
  }
  return redactUrls(out);
}

/** A header name that says it carries a credential. */
export const CREDENTIAL_HEADER = /auth|key|token|secret|password|passwd|cookie/i;
