/**
 * @jest-environment node
 */
import { ResponseError } from '@backstage/errors';
import { errorMessage } from './errorMessage';

describe('errorMessage', () => {
  it("shows the server's message of an error response", async () => {
    const response = new Response(
      JSON.stringify({
        error: {
          name: 'NotAllowedError',
          message: 'You are not an owner of component:default/podinfo',
        },
        request: {
          method: 'POST',
          url: '/objects/ImagePolicy/default/podinfo/suspend',
        },
        response: { statusCode: 403 },
      }),
      { status: 403, headers: { 'content-type': 'application/json' } },
    );
    expect(errorMessage(await ResponseError.fromResponse(response))).toBe(
      'You are not an owner of component:default/podinfo',
    );
  });

  it('shows the message of any other error', () => {
    expect(errorMessage(new Error('network down'))).toBe('network down');
  });
});
