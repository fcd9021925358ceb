// @ts-check
// Always-allow patterns for Claude Code's tool calls, as nod-hook offers
// them on a permission card and keeps the chosen ones: `Tool` (every call
// of the tool) or `Tool(glob)` where the glob's `*` matches any run of
// characters in the call's subject (the command of Bash, the file of
// Edit/Write/Read, the URL of WebFetch, the query of WebSearch).

/** What a pattern's glob is matched against, or undefined for tools without one. */
export function subjectOf(toolName, input = {}) {
  switch (toolName) {
    case 'Bash':
      return typeof input.command === 'string' ? input.command.trim() : undefined;
    case 'Edit':
    case 'MultiEdit':
    case 'Write':
    case 'Read':
      return typeof input.file_path === 'string' ? input.file_path : undefined;
    case 'NotebookEdit':
      return typeof input.notebook_path === 'string' ? input.notebook_path : undefined;
    case 'WebFetch':
      return typeof input.url === 'string' ? input.url : undefined;
    case 'WebSearch':
      return typeof input.query === 'string' ? input.query : undefined;
    default:
      return undefined;
  }
}

// A command that chains, pipes, substitutes or redirects does more than its
// first word says: only an exact pattern may allow it.
const SHELL_CONTROL = /[;&|`<>\n\r]|\$\(/;

function globRegex(glob) {
  const escaped = glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[\\s\\S]*');
  return new RegExp(`^${escaped}$`);
}

/** Parses `Tool` or `Tool(glob)`; undefined when malformed. */
export function parsePattern(pattern) {
  const m = /^([A-Za-z0-9_.:-]+)(?:\(([\s\S]*)\))?$/.exec(String(pattern));
  if (!m) return undefined;
  return { tool: m[1], glob: m[2] };
}

/** True when `pattern` allows this call. */
export function patternMatches(pattern, toolName, input) {
  const p = parsePattern(pattern);
  if (!p || p.tool !== toolName) return false;
  if (p.glob === undefined) return true;
  const subject = subjectOf(toolName, input);
  if (subject === undefined) return false;
  if (p.glob.includes('*') && toolName === 'Bash' && SHELL_CONTROL.test(subject)) return false;
  return globRegex(p.glob).test(subject);
}

function parentDir(path) {
  const i = path.lastIndexOf('/');
  return i > 0 ? path.slice(0, i) : '';
}

/**
 * The always-allow choices a card offers for this call, narrowest first:
 * `[{pattern, label}]`.
 */
export function offeredPatterns(toolName, input = {}) {
  const subject = subjectOf(toolName, input);
  const offers = [];
  if (toolName === 'Bash' && subject) {
    const first = subject.split(/\s+/)[0];
    offers.push({ pattern: `Bash(${subject})`, label: 'This exact command' });
    if (first && first !== subject && !SHELL_CONTROL.test(first))
      offers.push({ pattern: `Bash(${first} *)`, label: `Any "${first}" command` });
  } else if (['Edit', 'MultiEdit', 'Write', 'Read', 'NotebookEdit'].includes(toolName) && subject) {
    const dir = parentDir(subject);
    offers.push({ pattern: `${toolName}(${subject})`, label: 'This file' });
    if (dir) offers.push({ pattern: `${toolName}(${dir}/*)`, label: `Anything under ${dir}/` });
  } else if (toolName === 'WebFetch' && subject) {
    try {
      const { origin } = new URL(subject);
      offers.push({ pattern: `WebFetch(${origin}/*)`, label: `Anything on ${origin}` });
    } catch {
      // not a URL: the whole tool only
    }
  }
  offers.push({ pattern: toolName, label: `Every ${toolName} call` });
  // Labels and patterns are bounded on the server (500 bytes each).
  return offers.filter((o) => Buffer.byteLength(o.pattern) <= 500);
}

/** A one-line summary of the call for a card's title. */
export function summarize(toolName, input = {}, max = 160) {
  const subject = subjectOf(toolName, input) ?? (input.description || input.prompt || '');
  const line = `${toolName}${subject ? `: ${String(subject).replace(/\s+/g, ' ')}` : ''}`;
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
