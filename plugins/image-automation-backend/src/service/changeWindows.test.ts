import { mockServices } from '@backstage/backend-test-utils';
import { SignalPayload, SignalsService } from '@backstage/plugin-signals-node';
import { COALESCE_WINDOW_MS, SignalsChangeNotifier } from './ChangeNotifier';

// A steady stream of changes: the signal at the end of a window opens the next window, so changes
// keep leaving one signal per window rather than one each.

describe('SignalsChangeNotifier under a steady stream of changes', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('coalesces the changes right after a window closed into the next window', async () => {
    const published: string[] = [];
    const signals: SignalsService = {
      async publish(signal: SignalPayload) {
        published.push(signal.channel);
      },
    };
    const notifier = new SignalsChangeNotifier({
      signals,
      logger: mockServices.logger.mock(),
    });
    // No entity: the fleet channel only.
    notifier.changed('objects');
    notifier.changed('objects');
    await jest.advanceTimersByTimeAsync(COALESCE_WINDOW_MS);
    expect(published).toHaveLength(2);

    // Right after the window's signal, within the window it opened.
    notifier.changed('objects');
    notifier.changed('objects');
    await jest.advanceTimersByTimeAsync(COALESCE_WINDOW_MS - 1);
    expect(published).toHaveLength(2);
    await jest.advanceTimersByTimeAsync(1);
    expect(published).toEqual([
      'image-automation:fleet',
      'image-automation:fleet',
      'image-automation:fleet',
    ]);
  });
});
