/*
 * Crops the browser tests' screenshots (.testbed/results) into docs/images/ under stable names,
 * each to the part a guide talks about. Cropping is done by drawing the PNG in the system's
 * headless Chromium (the browser tests' own) and taking a clipped screenshot, so no image
 * library is needed. Run through scripts/docs-screenshots.sh.
 */
import fs from 'node:fs';
import path from 'node:path';
import { launchBrowser } from '../test/browser/appDriver';

/** A screenshot the docs use: its docs name, the browser test's file and the part kept. */
interface Shot {
  name: string;
  source: string;
  /** In the screenshot's pixels; absent: the whole screenshot. */
  crop?: { x: number; y: number; width: number; height: number };
}

export const SHOTS: Shot[] = [
  {
    name: 'entity-tab.png',
    source: 'entity-tab.png',
    crop: { x: 0, y: 0, width: 1280, height: 1568 },
  },
  { name: 'object-stalled.png', source: 'entity-tab-stalled.png' },
  {
    name: 'tag-explorer.png',
    source: 'tag-explorer-rejected.png',
    crop: { x: 520, y: 0, width: 880, height: 1010 },
  },
  {
    name: 'versions-and-promotions.png',
    source: 'promotion-pending-owner.png',
    crop: { x: 0, y: 0, width: 1400, height: 1230 },
  },
  {
    name: 'approve-dialog.png',
    source: 'promotion-approve-dialog.png',
    crop: { x: 410, y: 1280, width: 600, height: 480 },
  },
  {
    name: 'cluster-unreachable.png',
    source: 'cluster-unreachable.png',
    crop: { x: 0, y: 0, width: 1400, height: 830 },
  },
  {
    name: 'fleet-page.png',
    source: 'fleet-page.png',
    crop: { x: 0, y: 0, width: 1400, height: 600 },
  },
];

/** Width and height of a PNG, from its IHDR chunk. */
function pngSize(buffer: Buffer): { width: number; height: number } {
  return { width: buffer.readUInt32BE(16), height: buffer.readUInt32BE(20) };
}

async function main() {
  const root = path.resolve(__dirname, '..');
  const results = path.join(root, '.testbed/results');
  const images = path.join(root, 'docs/images');
  fs.mkdirSync(images, { recursive: true });
  const missing = SHOTS.filter(
    s => !fs.existsSync(path.join(results, s.source)),
  );
  if (missing.length > 0) {
    throw new Error(
      `missing in .testbed/results: ${missing
        .map(s => s.source)
        .join(', ')}; run the browser tests first`,
    );
  }
  const browser = await launchBrowser();
  try {
    for (const shot of SHOTS) {
      const png = fs.readFileSync(path.join(results, shot.source));
      const size = pngSize(png);
      const clip = shot.crop ?? { x: 0, y: 0, ...size };
      const page = await browser.newPage({
        viewport: size,
        deviceScaleFactor: 1,
      });
      await page.setContent(
        `<html><body style="margin:0"><img style="display:block" src="data:image/png;base64,${png.toString(
          'base64',
        )}"></body></html>`,
      );
      await page
        .locator('img')
        .evaluate(async img => (img as HTMLImageElement).decode());
      const out = path.join(images, shot.name);
      await page.screenshot({
        path: out,
        clip: {
          x: clip.x,
          y: clip.y,
          width: Math.min(clip.width, size.width - clip.x),
          height: Math.min(clip.height, size.height - clip.y),
        },
      });
      await page.close();
      process.stdout.write(
        `docs/images/${shot.name} (${fs.statSync(out).size} bytes) from ${
          shot.source
        }\n`,
      );
    }
  } finally {
    await browser.close();
  }
}

if (require.main === module) {
  main().catch(error => {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(1);
  });
}
