import { renderTemplate } from './index';

describe('function sets hold only hermetic functions', () => {
  // Go's "hermetic" maps still hold randInt (random) and ago (reads the clock); we leave them
  // out so the same inputs always render the same objects and messages.
  it.each([
    ['resourceset', ['<<', '>>']],
    ['commitMessage', ['{{', '}}']],
  ] as const)(
    '%s: random and clock functions are not defined',
    (funcs, [open, close]) => {
      for (const call of [
        'randInt 1 5',
        'ago 0',
        'now',
        'uuidv4',
        'randAlpha 4',
      ]) {
        const name = call.split(' ')[0];
        expect(() =>
          renderTemplate({
            name: 'hermetic',
            text: `${open} ${call} ${close}`,
            data: {},
            delims: [open, close],
            funcs,
          }),
        ).toThrow(`template: hermetic:1: function "${name}" not defined`);
      }
    },
  );
});
