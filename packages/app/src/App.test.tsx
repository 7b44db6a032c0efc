import { render, screen } from '@testing-library/react';
import app from './App';

describe('App', () => {
  const env = process.env;

  beforeEach(() => {
    process.env = {
      ...env,
      NODE_ENV: 'test',
      APP_CONFIG: [
        {
          data: {
            app: {
              title: 'Image Automation',
              baseUrl: 'http://localhost:3000',
            },
            backend: { baseUrl: 'http://localhost:7007' },
          },
          context: 'test',
        },
      ] as any,
    };
  });

  afterEach(() => {
    process.env = env;
  });

  it('renders the guest sign-in page', async () => {
    render(app.createRoot());
    expect(
      await screen.findByText(/Enter as a Guest User/, undefined, {
        timeout: 20_000,
      }),
    ).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Enter' })).toBeEnabled();
  });

  it('lists the image-automation fleet page in the navigation once signed in', async () => {
    // Sign in as a guest with no backend running: the guest provider then uses its local guest
    // identity, which a user may opt into.
    localStorage.setItem('@backstage/core:SignInPage:provider', 'guest');
    localStorage.setItem('enableLegacyGuestToken', 'true');
    try {
      render(app.createRoot());
      expect(
        await screen.findByRole(
          'link',
          { name: /Image automation/ },
          { timeout: 20_000 },
        ),
      ).toHaveAttribute('href', '/image-automation');
    } finally {
      localStorage.clear();
    }
  });
});
