// Topic patterns with named segments: "plants/{plant}/lines/{line}/events/{kind}", plus MQTT's + (one level) and
// # (the rest). Compiled once to a regular expression; a match yields the named segments.
import { MappingError } from './expr.ts';

export type TopicMatcher = (topic: string) => Record<string, string> | undefined;

export function compileTopic(pattern: string, where: string): TopicMatcher {
  const names: string[] = [];
  const levels = pattern.split('/');
  const re = levels
    .map((level, i) => {
      if (level === '#') {
        if (i !== levels.length - 1) throw new MappingError(`${where}: '#' must be the last level of '${pattern}'`);
        return '.*';
      }
      if (level === '+') return '[^/]+';
      const named = /^\{(\w+)\}$/.exec(level);
      if (named) {
        names.push(named[1]!);
        return '([^/]+)';
      }
      if (/[{}+#]/.test(level)) throw new MappingError(`${where}: level '${level}' of '${pattern}' mixes text with a wildcard`);
      return level.replace(/[.*?^$()[\]\\|]/g, '\\$&');
    })
    .join('/');
  const regex = new RegExp(`^${re}$`);
  return (topic) => {
    const m = regex.exec(topic);
    if (!m) return undefined;
    const out: Record<string, string> = {};
    names.forEach((n, i) => (out[n] = m[i + 1]!));
    return out;
  };
}
