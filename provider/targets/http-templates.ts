/**
 * The pure parts of an http target's requests: filling URL and field templates, and finding a
 * value in a JSON answer by path. No I/O, so each is a table in a unit test.
 */

const PLACEHOLDER = /\{([A-Za-z][A-Za-z0-9_]*)\}/g;

/**
 * `template` with each `{name}` replaced by its value. In a URL (`encode`), a value is
 * percent-encoded, so a certificate or project name can never add a path segment or a query.
 * The definition was checked (settings/http-target.ts): an unknown name here is a bug.
 */
export function fillTemplate(template: string, values: Readonly<Record<string, string>>, encode = false): string {
  return template.replace(PLACEHOLDER, (_whole, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`no value for {${name}}`);
    return encode ? encodeURIComponent(value) : value;
  });
}

/**
 * The steps of a JSON path as written in a definition: `resource.service_ssl_crt`,
 * `items[0].pem`, `items.0.pem`. A step is a member name or an array index.
 */
export function jsonPathSteps(path: string): (string | number)[] {
  const steps: (string | number)[] = [];
  for (const part of path.split(".")) {
    const match = /^([^[\]]*)((?:\[\d+\])*)$/.exec(part);
    if (!match || (match[1] === "" && match[2] === "")) throw new Error(`'${path}' is not a JSON path (e.g. resource.service_ssl_crt or items[0].pem)`);
    if (match[1] !== "") steps.push(/^\d+$/.test(match[1]) ? Number(match[1]) : match[1]);
    for (const index of match[2].matchAll(/\[(\d+)\]/g)) steps.push(Number(index[1]));
  }
  return steps;
}

/** The value at `path` in `json`, or undefined when any step is missing. */
export function valueAtPath(json: unknown, path: string): unknown {
  let current: unknown = json;
  for (const step of jsonPathSteps(path)) {
    if (current === null || typeof current !== "object") return undefined;
    if (typeof step === "number") {
      if (!Array.isArray(current)) return undefined;
      current = current[step];
    } else {
      if (Array.isArray(current) || !Object.hasOwn(current, step)) return undefined;
      current = (current as Record<string, unknown>)[step];
    }
  }
  return current;
}
