// A PostgreSQL URL's password must never reach a log or an error: everything that prints the
// database setting or an error that might quote it goes through these.

/** The URL with its password replaced by ***; anything that is not a URL comes back unchanged. */
export function redactUrl(setting: string): string {
  try {
    const url = new URL(setting);
    if (url.password === '') return setting;
    url.password = '***';
    return url.toString();
  } catch {
    // Not parseable: hide whatever sits between "://user:" and "@".
    return setting.replace(/(:\/\/[^:/@]*:)[^@]*@/, '$1***@');
  }
}

/** `text` with the setting's password (raw and URL-decoded) and the setting itself redacted. */
export function redactSecrets(text: string, setting: string): string {
  let out = text.split(setting).join(redactUrl(setting));
  try {
    const password = new URL(setting).password;
    if (password !== '') {
      for (const secret of new Set([password, decodeURIComponent(password)])) out = out.split(secret).join('***');
    }
  } catch {
    // Not a URL: nothing more to hide than the setting itself.
  }
  return out;
}
