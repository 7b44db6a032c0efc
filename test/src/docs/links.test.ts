import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(__dirname, '../../..');
const docs = path.join(root, 'docs');

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
export function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/`/g, '')
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** Markdown without fenced code blocks and inline code, where link syntax means nothing. */
function prose(markdown: string): string {
  return markdown.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');
}

function anchorsOf(file: string): Set<string> {
  const headings = prose(fs.readFileSync(file, 'utf8'))
    .split('\n')
    .filter(line => /^#{1,6} /.test(line))
    .map(line => slug(line.replace(/^#+ /, '')));
  return new Set(headings);
}

/** Every relative link and image of the Markdown files in `dir` that does not resolve. */
export function brokenLinks(dir: string): string[] {
  const broken: string[] = [];
  for (const name of fs
    .readdirSync(dir)
    .filter(n => n.endsWith('.md'))
    .sort()) {
    const file = path.join(dir, name);
    const text = prose(fs.readFileSync(file, 'utf8'));
    for (const match of text.matchAll(
      /!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g,
    )) {
      const target = match[1];
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:, …
      const [relative, anchor] = target.split('#');
      const resolved = relative ? path.resolve(dir, relative) : file;
      if (!fs.existsSync(resolved)) {
        broken.push(`${name}: ${target} (no ${path.relative(dir, resolved)})`);
      } else if (
        anchor &&
        resolved.endsWith('.md') &&
        !anchorsOf(resolved).has(anchor)
      ) {
        broken.push(`${name}: ${target} (no heading #${anchor})`);
      }
    }
  }
  return broken;
}

describe('links in docs/', () => {
  it('resolve: every relative link and image points at a file (and heading) that exists', () => {
    expect(brokenLinks(docs)).toEqual([]);
  });

  it('every screenshot in docs/images is used by a guide and is commit-sized', () => {
    const images = path.join(docs, 'images');
    const all = fs
      .readdirSync(docs)
      .filter(n => n.endsWith('.md'))
      .map(n => fs.readFileSync(path.join(docs, n), 'utf8'))
      .join('\n');
    for (const image of fs.readdirSync(images)) {
      expect({ image, used: all.includes(`images/${image}`) }).toEqual({
        image,
        used: true,
      });
      expect({
        image,
        small: fs.statSync(path.join(images, image)).size < 300 * 1024,
      }).toEqual({
        image,
        small: true,
      });
    }
  });

  it('finds a broken link, a missing image and a missing heading (the check can fail)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'docs-links-'));
    try {
      fs.writeFileSync(path.join(dir, 'a.md'), '# A\n\n## Step 1: the start\n');
      fs.writeFileSync(
        path.join(dir, 'b.md'),
        [
          '[fine](a.md) [fine anchor](a.md#step-1-the-start) [web](https://example.com/x.md)',
          '[gone](missing.md) ![gone image](images/nope.png) [bad anchor](a.md#step-2)',
          '`[in code](nowhere.md)`',
          '```',
          '[in a block](nowhere.md)',
          '```',
        ].join('\n'),
      );
      expect(brokenLinks(dir)).toEqual([
        'b.md: missing.md (no missing.md)',
        'b.md: images/nope.png (no images/nope.png)',
        'b.md: a.md#step-2 (no heading #step-2)',
      ]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('makes GitHub anchors', () => {
    expect(slug('5. A permission policy')).toBe('5-a-permission-policy');
    expect(slug('Step 1: make the cluster known, with its policy')).toBe(
      'step-1-make-the-cluster-known-with-its-policy',
    );
    expect(slug('The `imageAutomation` key')).toBe('the-imageautomation-key');
  });
});
