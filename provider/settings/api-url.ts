/**
 * Where certstage may send a token and private keys: https, or plain http to a loopback address
 * (a test, or a relay on the same machine). Shared by the http target and its presets.
 */

const LOOPBACK_HOST = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/;

/**
 * What is wrong with a URL certstage sends a token and keys to, or undefined: https, or plain
 * http to a loopback address (a test, a relay on the machine); never a user name in it.
 */
export function apiUrlProblem(text: string, where: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `${where} is not a URL`;
  }
  if (url.username !== "" || url.password !== "") return `${where} holds a user name or password; give the credential with auth.tokenFrom`;
  if (url.protocol === "https:") return undefined;
  if (url.protocol === "http:" && LOOPBACK_HOST.test(url.hostname)) return undefined;
  return `${where} is ${url.protocol === "http:" ? `plain http to ${url.host}` : `a ${url.protocol} URL`}; tokens and private keys travel only over https (plain http only to a loopback address)`;
}

