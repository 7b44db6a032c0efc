/**
 * A unified diff of what setters changed. Setters replace scalars in place and never add or remove
 * lines, so the files line up line by line: each run of changed lines is one hunk, without context.
 * @internal
 */
export function setterDiff(
  texts: ReadonlyMap<string, { before: string; after: string }>,
): string {
  const out: string[] = [];
  for (const [file, { before, after }] of [...texts.entries()].sort(
    ([a], [b]) => Number(a > b) - Number(a < b),
  )) {
    const old = before.split('\n');
    const next = after.split('\n');
    out.push(`--- a/${file}`, `+++ b/${file}`);
    for (let i = 0; i < Math.max(old.length, next.length); i++) {
      if (old[i] === next[i]) continue;
      let end = i;
      while (
        end + 1 < Math.max(old.length, next.length) &&
        old[end + 1] !== next[end + 1]
      )
        end++;
      const count = end - i + 1;
      out.push(`@@ -${i + 1},${count} +${i + 1},${count} @@`);
      for (let j = i; j <= end; j++)
        if (old[j] !== undefined) out.push(`-${old[j]}`);
      for (let j = i; j <= end; j++)
        if (next[j] !== undefined) out.push(`+${next[j]}`);
      i = end;
    }
  }
  return out.length ? `${out.join('\n')}\n` : '';
}
