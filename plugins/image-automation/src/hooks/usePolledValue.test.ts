import { act, renderHook } from '@testing-library/react';
import { usePolledValue } from './usePolledValue';

function setVisibility(state: DocumentVisibilityState) {
  Object.defineProperty(document, 'visibilityState', {
    configurable: true,
    value: state,
  });
  document.dispatchEvent(new Event('visibilitychange'));
}

describe('usePolledValue', () => {
  beforeEach(() => {
    jest.useFakeTimers();
    setVisibility('visible');
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  it('loads, polls while the document is visible, pauses while hidden and refreshes on return', async () => {
    let loads = 0;
    const load = jest.fn(async () => ++loads);
    const { result } = renderHook(() => usePolledValue('key', load, 10_000));

    await act(async () => {});
    expect(result.current).toMatchObject({ value: 1, loading: false });

    await act(async () => {
      jest.advanceTimersByTime(10_000);
    });
    expect(result.current.value).toBe(2);

    act(() => setVisibility('hidden'));
    await act(async () => {
      jest.advanceTimersByTime(60_000);
    });
    expect(load).toHaveBeenCalledTimes(2);

    await act(async () => setVisibility('visible'));
    expect(result.current.value).toBe(3);
    await act(async () => {
      jest.advanceTimersByTime(10_000);
    });
    expect(result.current.value).toBe(4);
  });

  it('keeps the last value and reports the error when a refresh fails', async () => {
    let fail = false;
    const load = jest.fn(async () => {
      if (fail) throw new Error('backend down');
      return 'objects';
    });
    const { result } = renderHook(() => usePolledValue('key', load, 10_000));
    await act(async () => {});

    fail = true;
    await act(async () => {
      await result.current.refresh();
    });
    expect(result.current.value).toBe('objects');
    expect(result.current.error?.message).toBe('backend down');
  });

  it('drops a slow response that a newer load overtook', async () => {
    const resolvers: Array<(value: string) => void> = [];
    const load = () => new Promise<string>(resolve => resolvers.push(resolve));
    const { result } = renderHook(() => usePolledValue('key', load, 10_000));

    let newer: Promise<void> | undefined;
    act(() => {
      newer = result.current.refresh();
    });
    await act(async () => {
      resolvers[1]('after the action');
      await newer;
    });
    await act(async () => {
      resolvers[0]('stale poll');
    });
    expect(result.current.value).toBe('after the action');
  });

  it('stops polling when unmounted', async () => {
    const load = jest.fn(async () => 'value');
    const { unmount } = renderHook(() => usePolledValue('key', load, 10_000));
    await act(async () => {});
    unmount();
    jest.advanceTimersByTime(60_000);
    expect(load).toHaveBeenCalledTimes(1);
  });
});

describe('usePolledValue with an interval that depends on the value', () => {
  beforeEach(() => {
    jest.useFakeTimers();
    setVisibility('visible');
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  it('polls fast while the value asks for it and slowly afterwards', async () => {
    const values = ['pending', 'pending', 'done', 'done'];
    const load = jest.fn(async () => values.shift() ?? 'done');
    const { result } = renderHook(() =>
      usePolledValue('key', load, value =>
        value === 'pending' ? 1_000 : 10_000,
      ),
    );
    await act(async () => {});
    expect(result.current.value).toBe('pending');

    await act(async () => {
      jest.advanceTimersByTime(1_000);
    });
    await act(async () => {
      jest.advanceTimersByTime(1_000);
    });
    expect(result.current.value).toBe('done');
    expect(load).toHaveBeenCalledTimes(3);

    await act(async () => {
      jest.advanceTimersByTime(9_000);
    });
    expect(load).toHaveBeenCalledTimes(3);
    await act(async () => {
      jest.advanceTimersByTime(1_000);
    });
    expect(load).toHaveBeenCalledTimes(4);
  });
});
