/** The `name=value` pair of a Set-Cookie value: what the browser sends back on the next request. */
export function cookieHeader(setCookies: readonly string[]): string {
  const first = setCookies[0];
  if (first === undefined) throw new Error("expected a Set-Cookie value");
  return first.split(";")[0] as string;
}

/** The token inside a Set-Cookie value. */
export function tokenOf(setCookies: readonly string[]): string {
  return cookieHeader(setCookies).split("=")[1] as string;
}

/** One attribute of a Set-Cookie value (case-insensitive name), or undefined. */
export function attribute(setCookie: string, name: string): string | undefined {
  for (const part of setCookie.split(";").slice(1)) {
    const [key, value = ""] = part.trim().split("=");
    if (key?.toLowerCase() === name.toLowerCase()) return value;
  }
  return undefined;
}
